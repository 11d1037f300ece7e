"""Every option of every config group composes through Hydra's compose API."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from dupbench.methods import DupbenchError, method_class, method_names
from experiments import run
from experiments.config import GROUPS, check_group_choices, compose_config, group_options
from experiments.data.kinds import kind_names
from experiments.paths import CONF_DIR
from experiments.runners.common import method_names_of


def composed(*overrides: str):
    return compose_config(list(overrides))


def test_defaults_are_fruits360_the_article_suite_exp1():
    cfg = composed()
    assert (cfg.dataset.name, cfg.experiment.name) == ("fruits360", "exp1")
    assert method_names_of(cfg) == [n for n in method_names() if method_class(n).suite == "article"]
    assert method_names_of(composed("method=all")) == method_names()
    assert cfg.dataset.resize.mode == "fixed" and (cfg.dataset.resize.width, cfg.dataset.resize.height) == (100, 100)


@pytest.mark.parametrize("name", group_options("dataset"))
def test_each_dataset_composes(name):
    cfg = composed(f"dataset={name}", "data_root=/data")
    assert cfg.dataset.name == name
    assert cfg.dataset.kind in kind_names()
    assert cfg.dataset.resize.mode in {"fixed", "scale"}
    if name == "folder":
        assert cfg.dataset.root is None  # the user's folder: required on the command line
    elif cfg.dataset.kind == "edits":  # built into the repository from a source under the data root
        assert cfg.dataset.root.startswith("data/generated/") and cfg.dataset.source.root.startswith("/data/")
    elif cfg.dataset.kind == "generated":  # drawn into the repository's data/generated/, no source
        assert cfg.dataset.root.startswith("data/generated/")
    elif cfg.dataset.kind == "distinct":  # read in place from its source's folder
        assert cfg.dataset.root == cfg.dataset.source.root
    elif name != "embedded":
        assert cfg.dataset.root.startswith("/data/")


@pytest.mark.parametrize("name", group_options("method"))
def test_each_method_config_names_registered_methods(name):
    names = method_names_of(composed(f"method={name}"))
    assert names and set(names) <= set(method_names())
    if name not in ("all", "article", "field"):
        assert names == [name]


@pytest.mark.parametrize("name", group_options("experiment"))
def test_each_experiment_composes(name):
    """Its file's settings all in the composed config, its bindings of other groups applied, its runner
    importable."""
    own = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "experiment" / f"{name}.yaml"))
    bindings = own.pop("defaults", [])
    cfg = composed(f"experiment={name}")
    assert OmegaConf.to_container(cfg.experiment) == own
    for binding in bindings:  # {"override /dataset@_global_.dataset": "sfbench"}
        ((target, choice),) = binding.items()
        group = target.removeprefix("override /").partition("@")[0]
        chosen = cfg.dataset.name if group == "dataset" else method_names_of(cfg)
        assert chosen == (choice if group == "dataset" else method_names_of(composed(f"method={choice}"))), binding
    assert callable(run.runner(cfg.experiment.runner))


def test_data_root_follows_the_environment_variable(monkeypatch):
    monkeypatch.setenv("DUPBENCH_DATA", "/elsewhere")
    assert composed("dataset=ukbench").dataset.root == "/elsewhere/ukbench_subset"


def test_unknown_group_choices_are_refused_with_the_valid_list():
    assert set(GROUPS) == {"dataset", "method", "experiment"}
    check_group_choices(["dataset=ukbench", "method=ahash,cosine", "backbone=auto"])
    with pytest.raises(DupbenchError, match="unknown method 'bogus'; valid: ahash, all"):
        check_group_choices(["method=ahash,bogus"])


def test_many_skips_of_one_reason_are_one_log_line_and_every_one_is_in_skipped_csv(tmp_path, caplog):
    import logging
    from types import SimpleNamespace

    import pandas as pd

    from experiments.data.dataset import Skip
    from experiments.runners.common import SKIPS_NAMED, write_skipped

    alone = [Skip(f"d{n:04d}.jpg", "the only image of its group", "query") for n in range(SKIPS_NAMED + 5)]
    broken = [Skip("bad.jpg", "cannot read image", "read")]
    dataset = SimpleNamespace(name="toy", all_skips=lambda: alone + broken)
    with caplog.at_level(logging.WARNING, logger="dupbench.run"):
        write_skipped(dataset, tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith(f"skipped {SKIPS_NAMED + 5} files (query): the only image of its group")
    assert lines[1] == "skipped bad.jpg (read): cannot read image"
    assert len(pd.read_csv(tmp_path / "skipped.csv")) == SKIPS_NAMED + 6
