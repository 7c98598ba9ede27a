"""nasbench: training-free neural architecture search, reproducible from the command line.

The Python interface is ``nasbench_cli.api`` (docs/api.md); import it as ``import nasbench_cli.api
as nb``. Its functions are also re-exported here (``open_space``, ``score``, ``score_module``,
``correlate``, ``naswot_kernels``, ``Space``) with the ``figures`` module, except ``search``: that
name is the ``nasbench_cli.search`` subpackage of algorithms, so use ``nasbench_cli.api.search``.
They are imported on first use, so that the CLI, which imports this package for its version, does
not pay for pandas or matplotlib up front.

Writing a proxy of your own (docs/plugins.md): ``from nasbench_cli import proxy`` (with
``ProxyContext``, ``ProxyOption`` and ``Batch`` for type hints), and ``load_plugin(path)`` for a
plugin file. The decorator's arguments and the ``(model, batch, ctx)`` contract are kept stable.
"""

__version__ = "0.1.0"

_API = ("Space", "open_space", "score", "score_module", "correlate", "naswot_kernels", "load_plugin",
        "proxy", "ProxyContext", "ProxyOption", "Batch")

__all__ = ["__version__", "api", "figures", *_API]


def __getattr__(name: str):
    # PEP 562: resolve the API names lazily (see the module docstring)
    if name in _API:
        from nasbench_cli import api

        return getattr(api, name)
    if name in ("api", "figures"):
        import importlib

        return importlib.import_module("nasbench_cli.api" if name == "api" else "nasbench_cli.analysis.figures")
    raise AttributeError(f"module 'nasbench_cli' has no attribute {name!r}")
