"""Proxies from outside the package: plugin files, installed packages, the caller's own script.

Where a proxy comes from is its ``Origin``:

    file     a plugin file (``--plugin FILE.py``, $NASBENCH_PLUGINS, ``nb.load_plugin``)
    module   a module the caller imported the usual way (``import myproxy``) that has a file
    package  an installed package, found through the entry-point group ``nasbench_cli.proxies``
    script   the calling script, notebook, ``python -c`` or ``exec``: no file to load again

Built-in proxies have no origin. A worker (a spawned process, a Ray actor) is rebuilt from plain
data, so the driver hands it a manifest (``PluginRef``s, in the ``ScorerSpec``): files and modules
travel by path and sha256 (a file missing or different on the worker stops the run, naming it),
packages by entry point, and a script's proxies by value (cloudpickle). A plugin is code the user
chose to run; no data file nasbench reads ever runs code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from nasbench_cli.errors import PluginError

if TYPE_CHECKING:  # the registry imports torch: not needed to name the types
    from nasbench_cli.proxies.base import ProxySpec

#: installed packages list their proxy modules under this entry-point group (pyproject.toml:
#: ``[project.entry-points."nasbench_cli.proxies"] myproxies = "mypkg.proxies"``)
ENTRY_POINT_GROUP = "nasbench_cli.proxies"
#: plugin files for every command and the API, separated as PATH is (os.pathsep)
ENV_VARIABLE = "NASBENCH_PLUGINS"


@dataclass(frozen=True)
class Origin:
    """Where a plugin proxy's code comes from (see the module docstring for the kinds)."""

    kind: str
    module: str
    path: str = ""  # the file (file, module)
    sha256: str = ""  # of the file when it was loaded
    package: str = ""  # "distribution version" (package)
    entry_point: str = ""  # "name = module" (package)

    def describe(self) -> str:
        """Where it comes from, in a few words: ``plugin file /x/my_proxy.py``."""
        if self.kind == "package":
            return f"installed package {self.package} (entry point {self.entry_point})"
        if self.kind in ("file", "module"):
            return f"plugin {'file' if self.kind == 'file' else 'module'} {self.path}"
        return "the calling script" if self.module == "__main__" else f"code defined in {self.module or 'exec'}"

    def record(self) -> Dict[str, str]:
        """The provenance and ``nasbench proxies --json`` form (empty fields left out)."""
        fields = {"kind": self.kind, "module": self.module, "path": self.path, "sha256": self.sha256,
                  "package": self.package, "entry_point": self.entry_point}
        return {key: value for key, value in fields.items() if value}


#: proxy name -> its origin, for every plugin proxy registered in this process (built-ins: absent)
ORIGINS: Dict[str, Origin] = {}
#: resolved plugin file -> (module name, sha256, digest of the file with its local helpers) of
#: each file loaded: an edited helper beside it reloads it too
_FILES: Dict[str, Tuple[str, str, str]] = {}
#: the plugin being loaded: the proxies it registers are attributed to it
_LOADING: List[Origin] = []
_installed_loaded = False


def file_sha256(path: Union[str, Path]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_builtin(module: Optional[str]) -> bool:
    return bool(module) and (module == "nasbench_cli" or module.startswith("nasbench_cli."))


def origin_of(fn) -> Optional[Origin]:
    """The origin of a proxy function being registered (None: a built-in)."""
    module = getattr(fn, "__module__", None)
    if _LOADING:
        return replace(_LOADING[-1], module=_LOADING[-1].module or module or "")
    if is_builtin(module):
        return None
    loaded = sys.modules.get(module) if module else None
    path = getattr(loaded, "__file__", None) if loaded is not None and module != "__main__" else None
    if path and str(path).endswith(".py") and Path(path).is_file():
        return Origin("module", module, str(Path(path).resolve()), file_sha256(path))
    return Origin("script", module or "")


def admit(spec: "ProxySpec") -> bool:
    """Check that ``spec`` may be registered and record its origin; True when it replaces the same
    code's earlier definition (a notebook cell run again, a plugin file loaded again). A name taken
    by a built-in or by other code is refused in one line."""
    from nasbench_cli.proxies.base import PROXIES

    origin = origin_of(spec.fn)
    if spec.name not in PROXIES:
        if origin is not None:
            ORIGINS[spec.name] = origin
        return False
    existing = ORIGINS.get(spec.name)
    new = origin.describe() if origin is not None else f"module {spec.fn.__module__}"
    if existing is None or origin is None:
        raise PluginError(f"proxy '{spec.name}' is a built-in proxy: give the one from {new} another name")
    same = existing.kind == origin.kind and existing.module == origin.module and existing.path == origin.path
    if not same:
        raise PluginError(f"proxy '{spec.name}' is already defined by {existing.describe()}: give the one from "
                          f"{new} another name")
    ORIGINS[spec.name] = origin
    return True


# --- loading -------------------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    stem = re.sub(r"\W", "_", path.stem)
    return f"nasbench_plugin_{stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def _error_line(err: BaseException, path: Path) -> str:
    """``Type: message`` with the plugin's line where the error arose in it."""
    line = ""
    tb = err.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = f" (line {tb.tb_lineno})"
        tb = tb.tb_next
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}{': ' + text if text else ''}{line}"


def load_plugin(path: Union[str, Path]) -> Tuple[str, ...]:
    """Load a plugin file and return the proxies it registers. Loading a file again is a no-op
    while it is unchanged, and replaces its proxies once it has changed (a notebook editing it).
    Every failure is one PluginError line naming the file; nothing stays registered."""
    given = Path(path).expanduser()
    if not given.exists():
        raise PluginError(f"plugin {path}: no such file")
    if given.is_dir() or given.suffix != ".py":
        raise PluginError(f"plugin {path}: not a .py file (a plugin is a Python file that registers proxies "
                          "with @proxy; see docs/plugins.md)")
    resolved = given.resolve()
    sha = file_sha256(resolved)
    known = _FILES.get(str(resolved))
    if known is not None and known[1:] == (sha, closure_digest(resolved)):
        return tuple(name for name, o in ORIGINS.items() if o.path == str(resolved))
    name = known[0] if known is not None else _module_name(resolved)
    if known is not None:  # edited: its helpers beside it are imported afresh too
        _forget_helpers(resolved)
    return _load_file(resolved, name, Origin("file", name, str(resolved), sha), str(path))


def closure_digest(path: Path) -> str:
    """The digest of a plugin file with the local modules it imports (what its store key holds)."""
    from nasbench_cli.code_digest import file_closure_digest
    from nasbench_cli.proxies.base import source_without_papers

    return file_closure_digest(path, source_without_papers)


def _forget_helpers(path: Path) -> None:
    """Drop the modules imported from a plugin's folder, so that reloading it reads them again."""
    folder = str(path.parent)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and not name.startswith("nasbench_plugin_") and str(Path(file).resolve().parent).startswith(folder):
            del sys.modules[name]


def _load_file(path: Path, module_name: str, origin: Origin, shown: str) -> Tuple[str, ...]:
    from nasbench_cli.proxies.base import PROXIES

    before = {name: PROXIES.get(name) for name in PROXIES.names()}
    before_origins = dict(ORIGINS)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    folder = str(path.parent)
    if folder not in sys.path:  # its own helper modules, beside it, import as they do in a script
        sys.path.append(folder)
    _LOADING.append(origin)
    try:
        spec.loader.exec_module(module)
    except PluginError as err:
        _roll_back(before, before_origins, module_name, previous)
        raise PluginError(f"plugin {shown}: {err}") from None
    except SyntaxError as err:
        _roll_back(before, before_origins, module_name, previous)
        where = f"{Path(err.filename).name}, line {err.lineno}" if err.filename else f"line {err.lineno}"
        raise PluginError(f"plugin {shown}: syntax error ({where}): {err.msg}") from None
    except ImportError as err:
        _roll_back(before, before_origins, module_name, previous)
        raise PluginError(f"plugin {shown}: cannot import what it needs: {_error_line(err, path)}") from None
    except BaseException as err:  # noqa: B902 - SystemExit or anything a plugin raises at import
        _roll_back(before, before_origins, module_name, previous)
        if isinstance(err, KeyboardInterrupt):
            raise
        raise PluginError(f"plugin {shown} raised an error while loading: {_error_line(err, path)}") from None
    finally:
        _LOADING.pop()
    added = tuple(name for name in PROXIES.names() if PROXIES.get(name) is not before.get(name))
    if not added:
        _roll_back(before, before_origins, module_name, previous)
        raise PluginError(f"plugin {shown} registers no proxy: decorate a function with "
                          "@proxy(\"name\", ...) from nasbench_cli (docs/plugins.md)")
    _FILES[str(path)] = (module_name, origin.sha256, closure_digest(path))
    return added


def _roll_back(before, before_origins, module_name: str, previous) -> None:
    """Leave the registry as it was before a plugin failed to load."""
    from nasbench_cli.proxies.base import PROXIES

    for name in PROXIES.names():
        if name not in before:
            PROXIES.discard(name)
        elif PROXIES.get(name) is not before[name]:
            PROXIES.add(name, before[name], replace=True)
    ORIGINS.clear()
    ORIGINS.update(before_origins)
    if previous is not None:
        sys.modules[module_name] = previous
    else:
        sys.modules.pop(module_name, None)


def env_plugins() -> List[str]:
    """The files of $NASBENCH_PLUGINS, in order."""
    return [part for part in os.environ.get(ENV_VARIABLE, "").split(os.pathsep) if part.strip()]


def _entry_points():
    from importlib import metadata

    found = metadata.entry_points()
    if hasattr(found, "select"):
        return list(found.select(group=ENTRY_POINT_GROUP))
    return list(found.get(ENTRY_POINT_GROUP, ()))  # Python 3.9


def load_installed() -> Tuple[str, ...]:
    """Import every module of the entry-point group (once per process); the proxies they register."""
    global _installed_loaded
    from nasbench_cli.proxies.base import PROXIES

    if _installed_loaded:
        return ()
    _installed_loaded = True
    added: List[str] = []
    for point in sorted(_entry_points(), key=lambda p: p.name):
        dist = getattr(point, "dist", None)
        package = f"{dist.metadata['Name']} {dist.version}" if dist is not None else point.value
        before = set(PROXIES.names())
        _LOADING.append(Origin("package", point.value.split(":")[0], package=package,
                               entry_point=f"{point.name} = {point.value}"))
        try:
            point.load()
        except PluginError as err:
            raise PluginError(f"installed plugin {point.name} ({package}): {err}") from None
        except Exception as err:
            raise PluginError(f"installed plugin {point.name} ({package}) failed to load: "
                              f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
        finally:
            _LOADING.pop()
        added.extend(sorted(set(PROXIES.names()) - before))
    return tuple(added)


def load_plugins(files: Sequence[Union[str, Path]] = ()) -> Tuple[str, ...]:
    """Every plugin a run sees: installed packages, $NASBENCH_PLUGINS, then ``files`` (--plugin)."""
    import nasbench_cli.proxies  # noqa: F401  (the built-ins first: a plugin cannot take their names)

    names = list(load_installed())
    for path in [*env_plugins(), *files]:
        names.extend(load_plugin(path))
    return tuple(dict.fromkeys(names))


def plugin_proxies() -> Dict[str, Origin]:
    """Name -> origin of every plugin proxy registered in this process."""
    from nasbench_cli.proxies.base import PROXIES

    return {name: ORIGINS[name] for name in PROXIES.names() if name in ORIGINS}


# --- what travels to workers ---------------------------------------------------------------------
@dataclass(frozen=True)
class PluginRef:
    """What a worker needs to register one plugin proxy: its origin, and for a script's proxy
    the pickled ProxySpec (cloudpickle: the function's code travels by value)."""

    name: str
    origin: Origin
    payload: bytes = b""
    #: why a script's proxy could not be pickled: said by a worker that needs it (this process,
    #: computing in-process, has the proxy and never reads it)
    error: str = ""


def check_unchanged(origin: Origin) -> None:
    """A plugin file must still be what was loaded: else the code that runs is not the code the
    store key and the workers see."""
    changed = origin.kind in ("file", "module") and (not Path(origin.path).is_file()
                                                     or file_sha256(origin.path) != origin.sha256)
    known = _FILES.get(origin.path) if origin.kind == "file" else None
    if not changed and known is not None and known[2] != closure_digest(Path(origin.path)):
        changed = True  # a helper module beside it was edited
    if changed:
        how = "nb.load_plugin(path) again" if origin.kind == "file" else "importlib.reload it"
        raise PluginError(f"plugin file {origin.path} changed (or went) since it was loaded: load it again "
                          f"({how}, or restart) so that the code that runs is the file's")


def manifest(specs: Sequence["ProxySpec"]) -> Tuple[PluginRef, ...]:
    """The refs a worker needs for the plugin proxies among ``specs`` (built-ins need none)."""
    refs = []
    for spec in specs:
        origin = ORIGINS.get(spec.name)
        if origin is None:
            continue
        check_unchanged(origin)
        payload, error = b"", ""
        if origin.kind == "script":
            try:
                import cloudpickle

                payload = cloudpickle.dumps(spec)
            except ImportError:
                error = (f"proxy '{spec.name}' is defined in {origin.describe()}: worker processes need cloudpickle "
                         "to receive it (pip install cloudpickle), or use executor 'sequential'")
            except Exception as err:
                error = (f"proxy '{spec.name}' cannot be sent to worker processes ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}): put it in a file and load it with "
                         "--plugin / nb.load_plugin, or use executor 'sequential'")
        refs.append(PluginRef(spec.name, origin, payload, error))
    return tuple(refs)


def install(refs: Sequence[PluginRef]) -> None:
    """Register, in this process (a worker), the plugin proxies of ``refs`` it lacks; a file that
    is missing or differs here stops the run in one line naming it."""
    import pickle

    from nasbench_cli.proxies.base import PROXIES

    for ref in refs:
        if ref.name in PROXIES:  # the driver's own process, or a second ref of one file
            continue
        origin = ref.origin
        where = socket.gethostname()
        if origin.kind == "script":
            if ref.error:
                raise PluginError(ref.error)
            spec = pickle.loads(ref.payload)
            ORIGINS[spec.name] = origin
            PROXIES.add(spec.name, spec)
        elif origin.kind == "package":
            try:
                importlib.import_module(origin.module)
            except ImportError as err:
                raise PluginError(f"plugin package {origin.package} (module {origin.module}) is not importable "
                                  f"on worker {where}: {err}") from None
        else:
            if not Path(origin.path).is_file():
                raise PluginError(f"plugin file {origin.path} is missing on worker {where}: put the same file at "
                                  "the same path on every node")
            here = file_sha256(origin.path)
            if here != origin.sha256:
                raise PluginError(f"plugin file {origin.path} differs on worker {where} (sha256 {here[:12]}, "
                                  f"{origin.sha256[:12]} where the run started): give every node the same file")
            _load_file(Path(origin.path), origin.module, origin, origin.path)
        if ref.name not in PROXIES:
            raise PluginError(f"plugin {origin.describe()} did not register proxy '{ref.name}' on worker {where}")


def describe_plugins() -> Iterator[Dict[str, object]]:
    """One record per plugin proxy (for provenance): its origin and its spec's conditions."""
    from nasbench_cli.proxies.base import PROXIES

    for name, origin in sorted(plugin_proxies().items()):
        spec = PROXIES.get(name)
        yield {"proxy": name, **origin.record(),
               "spec": {"direction": spec.direction, "dtype": spec.dtype, "bn": spec.bn, "loss": spec.loss,
                        "batch_size": spec.batch_size, "needs_data": spec.needs_data, "head": spec.head,
                        "version": spec.version, "summary": spec.summary,
                        "options": {o.name: o.default for o in spec.options}}}
