"""Config name -> method class. Families register themselves with `@register("name")`; the family
modules are imported on the first lookup, and names are listed in FAMILIES' order (the article's),
whichever module happened to be imported first; methods registered elsewhere (a plug-in, a test)
follow in the order they registered (other modules of this package are found and imported too).

A method whose libraries are not installed (`Method.needs`: `pip install dupbench` is the finder alone,
the benchmark's libraries are extras) is still registered and listed; creating it is one line saying
what to install."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Mapping
from importlib import metadata
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
# What `pip install` takes to bring a method's libraries (pyproject.toml's extras), for Method.needs.
WITH_TORCH = "'dupbench[torch]'"
WITH_METHODS = "'dupbench[methods]'"
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


def installed(module: str) -> bool:
    """Whether a module can be imported here, found without importing it (asking costs no torch import)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # in sys.modules without a spec: there, so importable
        return True


def library_version(package: str) -> str:
    """The installed version of a method's library, for tables that name it; "" for none."""
    try:
        return metadata.version(package) if package else ""
    except metadata.PackageNotFoundError:
        return "not installed"


def missing_needs(cls: type[Method]) -> str:
    """What the method lacks here and the pip command that brings it, one line ("" for none)."""
    missing = [module for module in cls.needs if not installed(module)]
    commands = dict.fromkeys(f"pip install {cls.needs[module]}" for module in missing)
    return f"{', '.join(missing)}: {'; '.join(commands)}" if missing else ""


def unavailable(name: str) -> str:
    """Why method `name` cannot run here, as one line ("" when it can)."""
    missing = missing_needs(method_class(name))
    return f"method {name} needs {missing}" if missing else ""


def availability() -> tuple[list[str], dict[str, list[str]]]:
    """The methods that can run here, and the others under what each lacks (in method_names' order)."""
    ready, lacking = [], {}
    for name in method_names():
        missing = missing_needs(_METHODS[name])
        if missing:
            lacking.setdefault(missing, []).append(name)
        else:
            ready.append(name)
    return ready, lacking


def create_method(name: str, options: Mapping[str, Any] | None = None, load: bool = True) -> Method:
    if reason := unavailable(name):
        raise DupbenchError(reason)
    method = method_class(name).from_options(options or {})
    if load:
        method.load()
    return method
