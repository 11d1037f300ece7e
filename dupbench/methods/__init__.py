"""dupbench methods: each family module registers its config names when the registry first needs
them (methods/registry.py), so importing this package costs no torch import: a bad command line is
answered before any heavy import."""

from dupbench.errors import DupbenchError
from dupbench.methods.base import Direction, Method
from dupbench.methods.registry import create_method, library_version, method_class, method_names, register

__all__ = [
    "Direction",
    "Method",
    "DupbenchError",
    "create_method",
    "library_version",
    "method_class",
    "method_names",
    "register",
]
