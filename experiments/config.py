"""The Hydra configs in conf/: which names exist, and composing them outside a run."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from dupbench.errors import DupbenchError
from experiments.paths import CONF_DIR
from experiments.settings import validate

GROUPS = ("dataset", "method", "experiment")


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_group_choices(argv: list[str]) -> None:
    """Unknown config names as one line that lists the valid ones (Hydra's own message is a page)."""
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep or key not in GROUPS:
            continue
        valid = group_options(key)
        for choice in value.split(","):
            if choice not in valid:
                raise DupbenchError(f"unknown {key} {choice!r}; valid: {', '.join(valid)} (files in {CONF_DIR / key})")


def compose_config(overrides: list[str]) -> DictConfig:
    """The configuration a run with these overrides would get (without running it); a typo'd or
    malformed override is one line naming it, as is a setting out of range."""
    check_group_choices(overrides)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as problem:
        lines = [line.strip() for line in str(problem).strip().splitlines()[:2] if line.strip()]
        raise DupbenchError(
            f"bad override in {' '.join(overrides)}: {' '.join(lines) or type(problem).__name__}"
        ) from None
    validate(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    return cfg
