"""Data sets: what one is (dataset), reading them by kind (kinds/, loader), verification against
manifests (check), fetching (fetch), the sets the project builds (embedded, edits, generated).

`python -m experiments.data check|fetch DATASET` is the command line (see __main__.py).
"""

from dupbench.images.read import read_rgb, read_rgb_and_sha256
from experiments.data.dataset import DataMissingError, Dataset, Item, Skip
from experiments.data.kinds import load_dataset
from experiments.data.loader import target_size

__all__ = [
    "Dataset",
    "DataMissingError",
    "Item",
    "Skip",
    "load_dataset",
    "read_rgb",
    "read_rgb_and_sha256",
    "target_size",
]
