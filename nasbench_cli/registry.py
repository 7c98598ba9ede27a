"""Name -> object registries, one per kind (space, dataset, proxy, search algorithm).

Each registry is filled once, when the modules of its package are imported, and is read-only
afterwards: adding a space, dataset or proxy is adding one module that registers itself.
"""

from __future__ import annotations

from typing import Callable, Dict, Generic, Iterator, List, TypeVar

from nasbench_cli.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to objects of one kind, with helpful errors for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name``."""

        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T, replace: bool = False) -> None:
        """Register ``obj`` under ``name``; a name can be registered once (``replace``: a plugin
        defined again by the same code, e.g. a notebook cell run twice, takes its place)."""
        if name in self._items and not replace:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = obj

    def discard(self, name: str) -> None:
        """Forget ``name`` (a plugin whose loading failed leaves nothing registered)."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        """The object registered as ``name``; raises UnknownNameError listing the valid names."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None

    def names(self) -> List[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
