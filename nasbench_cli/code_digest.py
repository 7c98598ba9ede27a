"""Fingerprints of plugin code, for store keys (store_keys.proxy_code): a plugin file with the local
modules it imports, and a function from its code objects when it has no file of its own.

A function's digest covers its bytecode, constants, names, defaults, closure values and nested
functions, and, through the globals it names, the helper functions, classes and constants it
reads, so changing any of them changes the key. Library modules and their functions (torch, numpy,
the standard library) count by name, as for built-in proxies; nasbench_cli modules by their
source fingerprint. A value that has no faithful fingerprint (a tensor, an arbitrary object)
makes the digest None: such a proxy is computed without the store.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import hashlib
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any, Callable, List, Optional, Set

#: how deep a digest follows helpers (a deeper chain is not fingerprinted: computed without store)
MAX_DEPTH = 40
_SIMPLE = (type(None), bool, int, float, complex, str, bytes, range, type(Ellipsis))


class Unfaithful(Exception):
    """A value the digest cannot stand for; the message says which."""


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple:
    paths = sysconfig.get_paths()
    roots = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(str(Path(root).resolve()) for root in roots if root)


def is_library_module(name: Optional[str]) -> bool:
    """A module of the standard library or of an installed distribution (site-packages)."""
    if not name or name == "__main__":  # the calling script, whatever file runs it (pytest's)
        return False
    top = name.split(".")[0]
    if top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        return True
    module = sys.modules.get(name) or sys.modules.get(top)
    path = getattr(module, "__file__", None)
    if path is None:
        return module is not None and name != "__main__" and not name.startswith("nasbench_plugin_")
    resolved = str(Path(path).resolve())
    return any(resolved.startswith(root + "/") or resolved.startswith(root + "\\") for root in _library_roots())


def _module_file(name: str) -> Optional[Path]:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) if module is not None and name != "__main__" else None
    return Path(path) if path and str(path).endswith(".py") and Path(path).is_file() else None


def _project_fingerprint(name: str) -> str:
    from nasbench_cli.store_keys import code_fingerprint

    return code_fingerprint(name)


def function_digest(fn: Any, extra: Any = ()) -> Optional[str]:
    """sha256 prefix of ``fn``'s code as described in the module docstring (with ``extra``, e.g.
    a proxy's declared conditions); None, with the reason from :func:`why_unfaithful`, when some
    value it depends on has no faithful fingerprint."""
    try:
        digest = hashlib.sha256(f"python {sys.version_info[0]}.{sys.version_info[1]}\n".encode())
        _Walker(digest).feed((fn, extra), 0)
        return digest.hexdigest()[:16]
    except (Unfaithful, RecursionError):
        return None


def why_unfaithful(fn: Any, extra: Any = ()) -> str:
    """Why :func:`function_digest` gives None ("" when it does not)."""
    try:
        _Walker(hashlib.sha256()).feed((fn, extra), 0)
        return ""
    except Unfaithful as err:
        return str(err)
    except RecursionError:
        return "its helpers nest too deeply"


class _Walker:
    """Feeds a value and what it depends on into a digest, each object once."""

    def __init__(self, digest):
        self.digest = digest
        self.seen: Set[int] = set()

    def put(self, *parts: Any) -> None:
        for part in parts:
            self.digest.update(repr(part).encode() + b"\x00")

    def feed(self, value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Unfaithful("its helpers nest too deeply")
        if isinstance(value, _SIMPLE):
            self.put(type(value).__name__, value)
            return
        if id(value) in self.seen:
            self.put("seen", type(value).__name__)
            return
        self.seen.add(id(value))
        for kinds, handler in self._handlers():
            if isinstance(value, kinds):
                handler(value, depth + 1)
                return
        self._other(value, depth + 1)

    def _handlers(self):
        return ((types.CodeType, self._code), ((tuple, list), self._sequence), ((set, frozenset), self._set),
                (dict, self._dict), (types.ModuleType, self._module), (functools.partial, self._partial),
                ((staticmethod, classmethod), lambda v, d: self.feed(v.__func__, d)),
                (property, lambda v, d: self.feed((v.fget, v.fset, v.fdel), d)),
                (types.MethodType, lambda v, d: self.feed((v.__func__, v.__self__), d)),
                (types.FunctionType, self._function), (type, self._class), (enum.Enum, self._enum))

    def _code(self, code: types.CodeType, depth: int) -> None:
        self.put("code", code.co_name, code.co_code, code.co_names, code.co_varnames, code.co_freevars,
                 code.co_cellvars, code.co_argcount, code.co_kwonlyargcount, code.co_flags)
        for const in code.co_consts:  # nested functions' code objects are constants too
            self.feed(const, depth)

    def _sequence(self, value, depth: int) -> None:
        self.put(type(value).__name__, len(value))
        for item in value:
            self.feed(item, depth)

    def _set(self, value, depth: int) -> None:
        if not all(isinstance(item, _SIMPLE) for item in value):
            raise Unfaithful("a set of non-constant values")
        self.put(type(value).__name__, sorted(repr(item) for item in value))

    def _dict(self, value: dict, depth: int) -> None:
        self.put("dict", len(value))
        for key in sorted(value, key=repr):
            self.feed(key, depth)
            self.feed(value[key], depth)

    def _module(self, module: types.ModuleType, depth: int) -> None:
        name = module.__name__
        if name.startswith("nasbench_cli"):
            self.put("module", name, _project_fingerprint(name))
        elif is_library_module(name):
            self.put("module", name)
        elif _module_file(name) is not None:
            self.put("module", name, hashlib.sha256(_module_file(name).read_bytes()).hexdigest())
        else:
            raise Unfaithful(f"module {name}, which has no file")

    def _partial(self, value: functools.partial, depth: int) -> None:
        self.feed((value.func, value.args, value.keywords), depth)

    def _by_reference(self, value: Any) -> bool:
        """Count a library's or nasbench_cli's function or class by name (and source fingerprint),
        when its module really holds it under that name (else its code is walked)."""
        module = getattr(value, "__module__", None)
        if not _resolves(value, module):
            return False
        if module and module.startswith("nasbench_cli"):
            from nasbench_cli.store_keys import FRAMEWORK_MODULES

            # the plumbing (decorator, Batch, ProxyOption) is not a formula: by name, as for built-ins
            code = "" if module in FRAMEWORK_MODULES else _project_fingerprint(module)
            self.put("ref", module, getattr(value, "__qualname__", ""), code)
            return True
        if is_library_module(module):
            self.put("ref", module, getattr(value, "__qualname__", ""))
            return True
        return False

    def _function(self, fn: types.FunctionType, depth: int) -> None:
        if self._by_reference(fn):
            return
        self.put("function", fn.__qualname__)
        self.feed(fn.__code__, depth)
        self.feed((fn.__defaults__ or (), fn.__kwdefaults__ or {}), depth)
        cells = fn.__closure__ or ()
        for cell in cells:
            try:
                self.feed(cell.cell_contents, depth)
            except ValueError:  # an empty cell (a name assigned later)
                self.put("empty cell")
        for name in sorted(_global_names(fn.__code__)):
            if name in fn.__globals__:
                self.put("global", name)
                self.feed(fn.__globals__[name], depth)

    def _class(self, cls: type, depth: int) -> None:
        if self._by_reference(cls):
            return
        self.put("class", cls.__qualname__, [base.__qualname__ for base in cls.__mro__[1:]])
        for base in cls.__mro__[1:]:
            self.feed(base, depth)
        for key, value in sorted(vars(cls).items()):
            if key in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__") or key.startswith("_abc"):
                continue
            self.put("attr", key)
            self.feed(value, depth)

    def _enum(self, value: enum.Enum, depth: int) -> None:
        self.feed(type(value), depth)
        self.put("member", value.name)

    def _other(self, value: Any, depth: int) -> None:
        if type(value).__module__ == "torch" and type(value).__name__ in ("dtype", "device"):
            self.put("torch", str(value))
            return
        if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)) or callable(value) and \
                is_library_module(getattr(value, "__module__", None)) and hasattr(value, "__qualname__"):
            self.put("builtin", getattr(value, "__module__", ""), getattr(value, "__qualname__", repr(value)))
            return
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            self.feed(type(value), depth)
            self.feed({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth)
            return
        raise Unfaithful(f"a {type(value).__name__} value, which has no faithful fingerprint")


def _resolves(value: Any, module: Optional[str]) -> bool:
    """Whether ``module.qualname`` names ``value`` (a function made by exec may claim any module)."""
    found: Any = sys.modules.get(module) if module else None
    for part in getattr(value, "__qualname__", "<none>").split("."):
        if part == "<locals>" or found is None:
            return False
        found = getattr(found, part, None)
    return found is value


def _global_names(code: types.CodeType) -> Set[str]:
    """Every name ``code`` and the code nested in it look up (globals among them)."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


# --- plugin files ---------------------------------------------------------------------------------
def local_imports(source: str, folder: Path, here: Optional[Path] = None) -> List[Path]:
    """The files beside a plugin (in ``folder``) that ``source`` (a file in ``here``, default
    ``folder``) imports: ``import helper``, ``from helper import f``, ``from pkg.sub import g``
    where ``pkg`` is a folder there, and a package's relative imports (``from . import helper``)."""
    here = here or folder
    found: List[Path] = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            root, names = folder, [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            root = folder
            if node.level:  # relative: from the importing file's package upwards
                root = here
                for _ in range(node.level - 1):
                    root = root.parent
            prefix = f"{node.module}." if node.module else ""
            names = ([node.module] if node.module else []) + [prefix + alias.name for alias in node.names]
        else:
            continue
        for name in names:
            base = root.joinpath(*name.split("."))
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file() and candidate not in found:
                    found.append(candidate)
    return found


def file_closure_digest(path: Path, source_of: Callable[[str], str]) -> str:
    """sha256 prefix of a plugin file's source (``source_of`` strips what is not code, e.g. papers),
    of the local files it imports (transitively, from the plugin's folder) and of the nasbench_cli
    modules any of them imports (their source fingerprints)."""
    from nasbench_cli.store_keys import project_imports

    folder = path.parent
    digest = hashlib.sha256()
    pending, seen = [path], set()
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        source = source_of(current.read_text(encoding="utf-8"))
        digest.update(f"\n{current.name if current != path else 'plugin'}:".encode())
        digest.update(hashlib.sha256(source.encode()).digest())
        try:
            helpers = project_imports(source)
        except SyntaxError:
            helpers = []
        for name in helpers:
            digest.update(f"\n{name}:{_project_fingerprint(name)}".encode())
        pending.extend(local_imports(source, folder, current.parent))
    return digest.hexdigest()[:16]
