"""Config name -> method class. Families register themselves with `@register("name")`; the family
modules are imported on the first lookup, and names are listed in FAMILIES' order (the article's),
whichever module happened to be imported first; methods registered elsewhere (a plug-in, a test)
follow in the order they registered (other modules of this package are found and imported too)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from dupbench.errors import DupbenchError
from dupbench.methods.base import Method

# The family modules, in the article's order of its methods.
FAMILIES = (
    "dupbench.methods.pixels",
    "dupbench.methods.structural",
    "dupbench.methods.hashing",
    "dupbench.methods.cnn",
)
_METHODS: dict[str, type[Method]] = {}
M = TypeVar("M", bound=type[Method])


def register(name: str) -> Callable[[M], M]:
    def decorate(cls: M) -> M:
        if name in _METHODS:
            raise ValueError(f"method name registered twice: {name}")
        cls.name = name
        _METHODS[name] = cls
        return cls

    return decorate


def unregister(name: str) -> None:
    """Remove a registration (a plug-in unloaded, a test's throw-away method)."""
    _METHODS.pop(name, None)


def load_families() -> None:
    """The article's families first, then every other module of this package (a new family is a new
    module: nothing to list here)."""
    for module in FAMILIES:
        importlib.import_module(module)
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("_"):
            importlib.import_module(f"dupbench.methods.{info.name}")


def _rank(name: str) -> tuple[int, int]:
    module = _METHODS[name].__module__
    family = FAMILIES.index(module) if module in FAMILIES else len(FAMILIES)
    return family, list(_METHODS).index(name)


def method_names() -> list[str]:
    load_families()
    return sorted(_METHODS, key=_rank)


def module_registering(name: str) -> str | None:
    """The module of this package whose source registers `name` (read, not imported): one method is
    looked up without importing every family (a hash without torch)."""
    needle = f'@register("{name}")'
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if needle in path.read_text():
            return f"dupbench.methods.{path.stem}"
    return None


def method_class(name: str) -> type[Method]:
    if name not in _METHODS and (module := module_registering(name)):
        importlib.import_module(module)
    if name in _METHODS:
        return _METHODS[name]
    load_families()
    try:
        return _METHODS[name]
    except KeyError:
        raise DupbenchError(f"unknown method {name!r}; valid names: {', '.join(method_names())}") from None


def create_method(name: str, options: Mapping[str, Any] | None = None, load: bool = True) -> Method:
    method = method_class(name).from_options(options or {})
    if load:
        method.load()
    return method
