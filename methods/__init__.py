"""dupbench methods: each family module registers its config names on import."""
from . import pixels, structural, hashing, cnn  # noqa: F401  (registration, in the article's order)
from .base import Direction, Method
from .errors import DupbenchError
from .registry import create_method, method_class, method_names, register

__all__ = ["Direction", "Method", "DupbenchError", "create_method", "method_class", "method_names", "register"]
