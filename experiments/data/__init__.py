"""Data sets: loading (loader), verification against manifests (check), fetching (fetch).

`python -m experiments.data check|fetch DATASET` is the command line (see __main__.py).
"""

from experiments.data.loader import (
    DataMissingError,
    Dataset,
    Item,
    Skip,
    load_dataset,
    read_rgb,
    read_rgb_and_sha256,
    target_size,
)

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
