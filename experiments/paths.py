"""Where things are: relative paths in configs are taken from the repository root, not the cwd."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"


def repo_path(path: str | Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def output_name(output: str, engine: str = "article") -> str:
    """The results folder of an experiment: the fast engine's tables sit beside the article's."""
    return output if engine == "article" else f"{output}-{engine}"
