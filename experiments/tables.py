"""Result tables on disk: CSVs and JSON written atomically, and merged per method so one run never
drops another's rows.

Every read-modify-write of a result file holds that file's lock (dupbench.files.locked): runs
started at the same time into one folder (a Hydra multirun, a launcher's jobs) each add their rows,
and none is lost to another's write.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from dupbench.files import atomic_write_bytes, atomic_write_text, locked
from experiments.provenance import job


def atomic_write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))


def atomic_save_figure(path: Path, figure: Any) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def read_csv_or_empty(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def upsert_rows(
    path: Path,
    rows: Iterable[dict[str, Any]],
    key: str = "method",
    order: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Replace the rows of the same `key` values in the CSV at `path` by `rows`; keep all others.
    Each new row names the job that wrote it (`job`: a multirun's launcher and job number, a cluster's
    job id), so rows from a sweep's parallel jobs can be told apart in one table."""

    new = pd.DataFrame([{**row, "job": row.get("job") or job()} for row in rows])
    with locked(path):
        old = read_csv_or_empty(path)
        if not old.empty and key in old and key in new:
            old = old[~old[key].isin(new[key].unique())]
        merged = pd.concat([old, new], ignore_index=True) if not old.empty else new
        if order is not None:
            merged = order(merged)
        atomic_write_csv(path, merged)
    return merged


def drop_rows(path: Path, values: Iterable[Any], key: str = "method") -> None:
    """Remove the rows whose `key` is one of `values` (under the file's lock). A redo drops a
    method's table row before it rewrites the row's companions: a kill in between leaves a method
    with no row (redone next time), never its old row beside the new run's companions."""
    values = set(values)
    with locked(path):
        frame = read_csv_or_empty(path)
        if not frame.empty and key in frame and frame[key].isin(values).any():
            atomic_write_csv(path, frame[~frame[key].isin(values)])


def update_json(path: Path, update: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    with locked(path):
        current = json.loads(path.read_text()) if path.is_file() else {}
        atomic_write_text(path, json.dumps(update(current), indent=2, sort_keys=True, default=str) + "\n")
