"""`python -m methods`: the registered method names, one per line."""
from . import method_names

for name in method_names():
    print(name)
