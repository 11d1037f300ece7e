"""Where the staged data sets are, read as the code reads it: conf/config.yaml's data_root, that is
DUPBENCH_DATA when set, else ../shared/datasets beside the checkout. A test that needs a staged set
skips naming the folder it looked in, so a skip in CI's log says where the data was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from experiments.paths import CONF_DIR, repo_path


def data_root() -> Path:
    return repo_path(str(OmegaConf.load(CONF_DIR / "config.yaml").data_root))


def needs_staged(folder: str) -> pytest.MarkDecorator:
    """Skip unless <data root>/<folder> is there; the reason names the path and DUPBENCH_DATA."""
    path = data_root() / folder
    return pytest.mark.skipif(not path.is_dir(), reason=f"{path} is not staged (set DUPBENCH_DATA to the data root)")
