"""The README's figures come from the committed results, and it documents every method."""
from __future__ import annotations

import pandas as pd

from experiments.readme_table import BASELINE, README, block, current_block
from methods import method_names


def test_readme_table_is_drawn_from_the_baseline_csv():
    baseline = pd.read_csv(BASELINE)
    assert current_block(README.read_text()) == block(baseline), "run `make readme-table`"


def test_baseline_has_every_method_on_the_full_fruits360_subset():
    baseline = pd.read_csv(BASELINE)
    assert list(baseline["method"]) == method_names()
    assert set(baseline["dataset"]) == {"fruits360"}
    assert (baseline["n_images"] == 96).all() and (baseline["n_pairs"] == 2280).all()


def test_readme_method_table_lists_every_registered_method():
    text = README.read_text()
    for name in method_names():
        assert f"| `{name}` |" in text
