"""The benchmark: runners, evaluation, data, reporting, tools and peers, on top of the `dupbench`
library. It runs from its checkout and is not installed; processes it starts (Hydra's joblib and
submitit launchers, sharded jobs) find it through PYTHONPATH, set here once."""

import os
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
