"""dupbench entry point: `python experiments/run.py [dataset=...] [method=...] [key=value ...]`.

A problem the user can fix (unknown name, missing data or weights, bad image) ends with one line
on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments import calibrate, exp3, matrix, retrieval
from experiments.config import check_group_choices
from experiments.data import Dataset, DataMissingError, load_dataset
from experiments.paths import CONF_DIR, output_name, repo_path
from methods.errors import DupbenchError

RUNNERS = {"retrieval": retrieval.run, "transforms": matrix.run, "exp3": exp3.run, "calibrate": calibrate.run}
log = logging.getLogger("dupbench")


def dataset_with_fallback(cfg: DictConfig) -> Dataset:
    try:
        return load_dataset(cfg.dataset)
    except DataMissingError as missing:  # absent, not broken: a partial or corrupt set is an error
        fallback = cfg.get("dataset_fallback")
        if not fallback or fallback == cfg.dataset.name:
            raise
        log.warning("%s; using dataset=%s instead", missing, fallback)
        with open_dict(cfg):  # replace the whole node: the fallback may have keys the first lacked
            cfg.dataset = OmegaConf.load(CONF_DIR / "dataset" / f"{fallback}.yaml")
        return load_dataset(cfg.dataset)


def execute(cfg: DictConfig) -> None:
    if cfg.torch_threads:
        import torch

        torch.set_num_threads(int(cfg.torch_threads))
    dataset = dataset_with_fallback(cfg)
    log.info("data set %s: %d images from %s", dataset.name, len(dataset.items), dataset.root)
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    output = output_name(cfg.experiment.get("output", cfg.experiment.name), cfg.get("engine", "article"))
    out_dir = repo_path(cfg.results_root) / output / dataset.name
    RUNNERS[cfg.experiment.runner](plain, dataset, out_dir)


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        execute(cfg)
    except DupbenchError as problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: every method that had finished is saved; run again to resume", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    try:
        check_group_choices(sys.argv[1:])
    except DupbenchError as problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    main()
