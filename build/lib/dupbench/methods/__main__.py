"""`python -m dupbench.methods`: the registered method names, one per line; `--long` adds, per method, its
variant, direction, library and version, licence, representation and what it computes."""

from __future__ import annotations

import sys
from importlib import metadata

from dupbench.methods import method_class, method_names


def version(package: str) -> str:
    try:
        return metadata.version(package) if package else ""
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str]) -> None:
    for name in method_names():
        if "--long" in argv:
            cls = method_class(name)
            print(
                f"{name:22} {cls.variant:16} {cls.direction:10} {cls.library} {version(cls.library)} "
                f"({cls.licence}); {cls.representation}: {cls.summary}"
            )
        else:
            print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
