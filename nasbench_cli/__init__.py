"""nasbench: training-free neural architecture search, reproducible from the command line."""

__version__ = "0.1.0"
