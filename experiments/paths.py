"""Where things are: relative paths in configs are taken from the repository root, not the cwd."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"
# Committed reference results; everything else under results/ is a run output.
BASELINES = REPO_ROOT / "results" / "baselines"


def repo_path(path: str | Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


# article: the article's per-pair loop; fast: each image prepared once, all pairs by matrix products.
ENGINES = ("article", "fast")


def output_name(output: str, engine: str = "article") -> str:
    """The results folder of an experiment: the fast engine's tables sit beside the article's."""
    return output if engine == "article" else f"{output}-{engine}"


# `${repo_path:results}` in a config: Hydra's own run folder and logs land under results_root taken
# from the repository root, whatever folder the command was started in.
OmegaConf.register_new_resolver("repo_path", lambda path: str(repo_path(path)), replace=True)
