"""experiments/tools/kinds_copies.py's scoring, worked by hand: a copy counts when grouped with its original."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from experiments.tools import kinds_copies


def test_each_copy_type_is_the_share_of_copies_grouped_with_their_original(monkeypatch, tmp_path):
    def item(group: str, edit: str) -> SimpleNamespace:
        return SimpleNamespace(path=tmp_path / group / f"{edit}.png", group=group, edit=edit)

    items = [item(g, e) for g in ("a", "b") for e in ("original", "jpeg60", "screenshot")] + [item("c", "original")]
    monkeypatch.setattr(kinds_copies, "compose_config", lambda overrides: SimpleNamespace(dataset=None))
    monkeypatch.setattr(kinds_copies, "load_dataset", lambda cfg: SimpleNamespace(items=items, root=tmp_path))
    p = {(i.group, i.edit): Path(i.path).resolve() for i in items}
    groups = [
        [p["a", "original"], p["a", "jpeg60"], p["a", "screenshot"]],  # every copy of a
        [p["b", "jpeg60"], p["b", "screenshot"]],  # b's copies together, but not with their original
        [p["b", "original"], p["c", "original"]],  # a false pair
    ]
    monkeypatch.setattr(kinds_copies, "groups_found", lambda folder, options: (groups, 1.0))
    rows = {r["copy_type"]: r for r in kinds_copies.scored("tiny", [])}
    assert set(rows) == {"jpeg60", "screenshot"}
    assert (rows["jpeg60"]["grouped"], rows["jpeg60"]["copies"]) == (1, 2)
    assert rows["screenshot"]["recall"] == 0.5
    assert rows["jpeg60"]["pairs_found"] == 3 + 1 + 1
    assert rows["jpeg60"]["precision"] == pytest.approx(4 / 5)
