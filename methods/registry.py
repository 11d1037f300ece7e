"""Config name -> method class. Families register themselves with `@register("name")`."""
from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from .base import Method
from .errors import DupbenchError

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


def method_names() -> list[str]:
    return list(_METHODS)


def method_class(name: str) -> type[Method]:
    try:
        return _METHODS[name]
    except KeyError:
        raise DupbenchError(
            f"unknown method {name!r}; valid names: {', '.join(method_names())}"
        ) from None


def create_method(name: str, options: Mapping[str, Any] | None = None) -> Method:
    return method_class(name).from_options(options or {})
