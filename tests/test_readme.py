"""The README's figures come from the committed results, and it documents every method."""
from __future__ import annotations

import pandas as pd

import pytest

from experiments.readme_table import BLOCKS, README, current_block
from methods import method_names


@pytest.mark.parametrize("block", BLOCKS, ids=[b.marker for b in BLOCKS])
def test_readme_tables_are_drawn_from_the_baseline_csvs(block):
    assert block.path.is_file(), f"{block.path} is not committed"
    assert current_block(README.read_text(), block.marker) == block.text(), "run `make readme-table`"


def test_baseline_has_every_method_on_the_full_fruits360_subset():
    baseline = pd.read_csv(BLOCKS[0].path)
    assert list(baseline["method"]) == method_names()
    assert set(baseline["dataset"]) == {"fruits360"}
    assert (baseline["n_images"] == 96).all() and (baseline["n_pairs"] == 2280).all()


def test_readme_method_table_lists_every_registered_method():
    text = README.read_text()
    for name in method_names():
        assert f"| `{name}` |" in text


def test_every_bad_input_row_names_a_test_that_exists():
    text = README.read_text()
    section = text[text.index("### Bad input"):text.index("CNN weights (")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`test_" in line]
    assert len(rows) >= 15
    sources = {p.name: p.read_text() for p in (README.parent / "tests").glob("test_*.py")}
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[-1].strip().strip("`")
        file, _, name = cell.rpartition("::")
        where = [file] if file else list(sources)
        assert any(f"def {name}(" in sources[f] for f in where), f"no test {cell} for: {row[:60]}"
