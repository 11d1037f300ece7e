"""`python -m methods`: the registered method names, one per line; `--long` adds what each computes."""

import sys

from . import method_class, method_names

for name in method_names():
    if "--long" in sys.argv[1:]:
        cls = method_class(name)
        print(f"{name:24} {cls.variant:8} {cls.direction:11} {cls.summary}")
    else:
        print(name)
