"""The README's and docs' figures come from the committed results, and they document every method."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dupbench.methods import method_names
from experiments.paths import REPO_ROOT
from experiments.tools.blocks import PAGES, README, blocks, current_block, markers_in

RELIABILITY = REPO_ROOT / "docs" / "reliability.md"


BLOCKS = {block.marker: block for block in blocks()}
SHOWN = [(page, marker) for page in PAGES for marker in markers_in(page.read_text())]


@pytest.mark.parametrize(("page", "marker"), SHOWN, ids=[f"{p.name}:{m}" for p, m in SHOWN])
def test_every_generated_table_is_drawn_from_its_baseline_csv(page, marker):
    assert marker in BLOCKS, f"{page.name} shows {marker}, but results/baselines/{marker}.csv is not committed"
    assert current_block(page.read_text(), marker) == BLOCKS[marker].text(), f"{page}: run `make readme-table`"


def test_no_measured_figure_stands_outside_a_generated_block():
    """Every table row with a measured figure (decimals or an exponent) sits between block markers."""
    figure = re.compile(r"\d\.\d{2}|\d\.\d+e[-+]?\d")  # 0.993, 1.5e-02; not a stated tolerance like 1e-5
    for page in PAGES:
        text = page.read_text()
        for marker in markers_in(text):
            text = text.replace(current_block(text, marker), "")
        stray = [line for line in text.splitlines() if line.startswith("|") and figure.search(line)]
        assert not stray, f"{page.name}: measured figures outside a generated block: {stray[:2]}"


def test_the_headline_tables_are_shown():
    shown = {marker for _, marker in SHOWN}
    assert {"exp1-fruits360", "cnn-timing", "bench-scale", "exp3-fruits360", "exp2-ukbench"} <= shown


def test_the_readme_is_short_and_every_docs_page_is_linked():
    text = README.read_text()
    assert len(text.splitlines()) <= 200  # the headline table (Experiment 1); the long tables are in docs/
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in text, page.name


def test_baseline_has_every_method_on_the_full_fruits360_subset():
    baseline = pd.read_csv(BLOCKS["exp1-fruits360"].path)
    assert set(baseline["dataset"]) == {"fruits360"}
    assert (baseline["n_images"] == 96).all() and (baseline["n_pairs"] == 2280).all()


def test_the_method_table_lists_every_registered_method():
    text = (REPO_ROOT / "docs" / "methods.md").read_text()
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
