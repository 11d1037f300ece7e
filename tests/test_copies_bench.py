"""experiments/tools/copies_bench.py's scoring, worked by hand (issue 39: per kind and per copy type)."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.tools.copies_bench import scored


def manifest(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "group", "edit", "source"])


def test_pairs_copy_types_and_distinct_images_by_hand():
    files = manifest(
        ("a.png", "doc-0", "original", "documents report"),
        ("a50.jpg", "doc-0", "jpeg50", "documents report"),
        ("a-half.jpg", "doc-0", "half", "documents report"),
        ("b.png", "doc-1", "original", "documents report"),
        ("c.png", "doc-2", "distinct", "documents report"),
        ("p.jpg", "photos-0", "original", "photos report"),
        ("p70.jpg", "photos-0", "jpeg70", "photos report"),
    )
    # Found: the invoice with its JPEG and the other invoice (a look-alike merged), the photo with a page.
    rows = scored(files, {"a.png": 0, "a50.jpg": 0, "b.png": 0, "p.jpg": 1, "c.png": 1}, lookalikes=False)
    by = {(r["kind"], r["measure"]): r for r in rows}
    docs = by[("documents", "pairs")]
    # Found pairs touching documents: a-a50, a-b, a50-b, and p-c (across kinds): 4, of which 1 is true.
    assert (docs["found_pairs"], docs["found_true"], docs["true_pairs"]) == (4, 1, 3)
    assert docs["precision"] == pytest.approx(0.25) and docs["recall"] == pytest.approx(1 / 3)
    assert docs["distinct_grouped"] == 1 and docs["distinct"] == 1
    assert by[("documents", "jpeg50")]["recall"] == 1.0 and by[("documents", "half")]["recall"] == 0.0
    photos = by[("photos", "pairs")]
    assert (photos["found_pairs"], photos["found_true"], photos["recall"]) == (1, 0, 0.0)
    assert by[("photos", "jpeg70")]["recall"] == 0.0


def test_a_look_alike_grouped_with_its_original_is_a_false_pair_and_its_own_copy_a_true_one():
    files = manifest(
        ("i.png", "documents-000", "original", "documents report"),
        ("j.png", "documents-000-other_amount", "other_amount", "documents report"),
        ("j70.jpg", "documents-000-other_amount", "other_amount copy", "documents report"),
    )
    rows = scored(files, {"i.png": 0, "j.png": 0, "j70.jpg": 0}, lookalikes=True)
    by = {r["measure"]: r for r in rows}
    assert by["pairs"]["precision"] == pytest.approx(1 / 3) and by["pairs"]["recall"] == 1.0
    assert by["lookalike copy"]["recall"] == 1.0
