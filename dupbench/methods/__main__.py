"""`python -m dupbench.methods`: the registered method names, one per line; `--long` adds, per method, its
variant, direction, library and version, licence, representation and what it computes."""

from __future__ import annotations

import sys

from dupbench.methods import library_version, method_class, method_names


def main(argv: list[str]) -> None:
    for name in method_names():
        if "--long" in argv:
            cls = method_class(name)
            print(
                f"{name:22} {cls.variant:16} {cls.direction:10} {cls.library} {library_version(cls.library)} "
                f"({cls.licence}); {cls.representation}: {cls.summary}"
            )
        else:
            print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
