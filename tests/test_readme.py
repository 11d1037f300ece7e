"""The README's and docs' figures come from the committed results, and they document every method."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.paths import REPO_ROOT
from experiments.readme_table import BLOCKS, PAGES, README, current_block, pages_with
from methods import method_names

RELIABILITY = REPO_ROOT / "docs" / "reliability.md"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.marker for b in BLOCKS])
def test_every_generated_table_is_drawn_from_its_baseline_csv(block):
    assert block.path.is_file(), f"{block.path} is not committed"
    pages = pages_with(block.marker)
    assert pages, f"no page shows {block.marker}"
    for page in pages:
        assert current_block(page.read_text(), block.marker) == block.text(), f"{page}: run `make readme-table`"


def test_the_readme_is_short_and_every_docs_page_is_linked():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in text, page.name


def test_baseline_has_every_method_on_the_full_fruits360_subset():
    baseline = pd.read_csv(BLOCKS[0].path)
    assert set(baseline["dataset"]) == {"fruits360"}
    assert (baseline["n_images"] == 96).all() and (baseline["n_pairs"] == 2280).all()


def test_readme_method_table_lists_every_registered_method():
    text = README.read_text()
    for name in method_names():
        assert f"| `{name}` |" in text


def test_every_bad_input_row_names_a_test_that_exists():
    text = RELIABILITY.read_text()
    section = text[text.index("## Bad input") : text.index("## Output files")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`test_" in line]
    assert len(rows) >= 30
    sources = {p.name: p.read_text() for p in (REPO_ROOT / "tests").glob("test_*.py")}
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[-1].strip()
        file = ""
        for ref in (part.strip().strip("`") for part in cell.split(",")):
            path, _, name = ref.rpartition("::")
            file = path or file  # later names in a cell are in the file named first
            where = [file] if file else list(sources)
            assert any(f"def {name}(" in sources[f] for f in where), f"no test {ref} for: {row[:60]}"
