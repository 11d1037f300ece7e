"""`python -m methods`: the registered method names, one per line; `--long` adds what each computes."""

from __future__ import annotations

import sys

from methods import method_class, method_names


def main(argv: list[str]) -> None:
    for name in method_names():
        if "--long" in argv:
            cls = method_class(name)
            print(f"{name:24} {cls.variant:8} {cls.direction:11} {cls.summary}")
        else:
            print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
