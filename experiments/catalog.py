"""Every section a person reads, found where it is declared: each experiment config in
conf/experiment/ whose runner module defines `SECTION`, and each module of experiments.tools that
defines `ENTRY`. REPORT.md and the README/docs blocks loop over these, so adding an experiment or a
tool touches no reporting code. (Runners and tools are imported by name: they are plug-ins here.)"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from omegaconf import OmegaConf

from experiments.paths import CONF_DIR
from experiments.reporting.sections import Entry

TOOLS = Path(__file__).resolve().parent / "tools"


def experiment_entries() -> list[Entry]:
    found = []
    for path in sorted((CONF_DIR / "experiment").glob("*.yaml")):
        cfg = OmegaConf.load(path)
        module, _, _ = str(cfg.runner).partition(":")
        section = getattr(importlib.import_module(module), "SECTION", None)
        if section is not None:
            output = str(cfg.get("output") or cfg.name)
            title = str(cfg.get("title") or cfg.name)
            found.append(Entry(output.replace("/", "-"), title, output, section, plot=str(cfg.get("plot") or "")))
    return found


def tool_entries() -> list[Entry]:
    found = []
    for info in pkgutil.iter_modules([str(TOOLS)]):
        entry = getattr(importlib.import_module(f"experiments.tools.{info.name}"), "ENTRY", None)
        if entry is not None:
            found.append(entry)
    return found


def entries() -> list[Entry]:
    """Every section, experiments first (ordered by title: Experiment 1, 2, ...), then tools."""
    return sorted(experiment_entries(), key=lambda e: e.title) + sorted(tool_entries(), key=lambda e: e.title)


def baselines_of(entry: Entry) -> list[Path]:
    return entry.baselines(e.key for e in entries())
