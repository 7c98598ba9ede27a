"""nasbench: training-free neural architecture search, reproducible from the command line.

The Python interface (``nasbench_cli.api``, docs/api.md) is re-exported here:
``open_space``, ``score``, ``score_module``, ``correlate``, ``search``, ``naswot_kernels``, and
``figures`` (nasbench_cli.analysis.figures). They are imported on first use, so that the CLI, which
imports this package for its version, does not pay for torch, pandas or matplotlib up front.
"""

__version__ = "0.1.0"

_API = ("Space", "open_space", "score", "score_module", "correlate", "search", "naswot_kernels")

__all__ = ["__version__", *_API, "figures"]


def __getattr__(name: str):
    # PEP 562: resolve the API names lazily (see the module docstring)
    if name in _API:
        from nasbench_cli import api

        return getattr(api, name)
    if name == "figures":
        from nasbench_cli.analysis import figures

        return figures
    raise AttributeError(f"module 'nasbench_cli' has no attribute {name!r}")
