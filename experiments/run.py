"""dupbench entry point: `python experiments/run.py [dataset=...] [method=...] [key=value ...]`.

A problem the user can fix (unknown name, missing data or weights, bad image) ends with one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python experiments/run.py`: the benchmark is imported from its checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hydra  # noqa: E402
from omegaconf import DictConfig, OmegaConf, open_dict  # noqa: E402

from dupbench.errors import DupbenchError  # noqa: E402
from experiments.config import check_group_choices  # noqa: E402
from experiments.data import DataMissingError, Dataset, load_dataset  # noqa: E402
from experiments.paths import CONF_DIR, output_name, repo_path  # noqa: E402
from experiments.settings import check_overrides, check_results_root_writable, validate  # noqa: E402

log = logging.getLogger("dupbench")


def runner(spec: str) -> Callable[..., Any]:
    """`module:function` from an experiment config, imported only when that experiment runs."""
    module, _, function = str(spec).partition(":")
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        raise DupbenchError(f"experiment.runner={spec!r}: no function {function!r} in module {module!r}") from None


def stand_in_for(cfg: DictConfig) -> str | None:
    """The data set to run on when the chosen one's files are absent: asked for on the command line
    (dataset_fallback, as make exp1 does), the experiment's binding (exp2.yaml), or the data set's own
    (sfbench.yaml: UKBench, whatever the experiment)."""
    name = cfg.dataset.name
    bound = (cfg.experiment.get("stand_in") or {}).get(name)
    return cfg.get("dataset_fallback") or bound or cfg.dataset.get("stand_in")


def dataset_with_fallback(cfg: DictConfig) -> Dataset:
    try:
        return load_dataset(cfg.dataset)
    except DataMissingError as missing:  # absent, not broken: a partial or corrupt set is an error
        asked, fallback = cfg.dataset.name, stand_in_for(cfg)
        if not fallback or fallback == asked:
            raise
        # One line, first: what was asked, what runs instead, where the asked-for files go.
        log.warning(
            "using dataset=%s instead of dataset=%s (its results are labelled %s): %s",
            fallback,
            asked,
            fallback,
            missing,
        )
        with open_dict(cfg):  # replace the whole node: the fallback may have keys the first lacked
            cfg.dataset = OmegaConf.load(CONF_DIR / "dataset" / f"{fallback}.yaml")
        try:
            return load_dataset(cfg.dataset)
        except DataMissingError as also:  # name the data set asked for first: that is what to stage
            raise DataMissingError(f"{missing} Its stand-in is missing too: {also}") from None


def execute(cfg: DictConfig) -> None:
    validate(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    run_experiment = runner(cfg.experiment.runner)
    if cfg.torch_threads:
        import torch

        torch.set_num_threads(int(cfg.torch_threads))
    dataset = dataset_with_fallback(cfg)
    log.info("data set %s: %d images from %s", dataset.name, len(dataset.items), dataset.root)
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    output = output_name(cfg.experiment.get("output", cfg.experiment.name), cfg.get("engine", "article"))
    out_dir = repo_path(cfg.results_root) / output / dataset.name
    run_experiment(plain, dataset, out_dir)


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        execute(cfg)
    except DupbenchError as problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    except PermissionError as denied:  # a read-only results folder, an unreadable file: say which
        print(
            f"error: permission denied: {denied.filename or denied} (a read-only results folder? pass "
            f"results_root=...; an unreadable file or folder? check its permissions)",
            file=sys.stderr,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: every method that had finished is saved; run again to resume", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    try:
        check_group_choices(sys.argv[1:])
        check_overrides(sys.argv[1:])
        check_results_root_writable(sys.argv[1:], OmegaConf.load(CONF_DIR / "config.yaml").results_root)
    except DupbenchError as problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    main()
