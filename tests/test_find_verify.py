"""`dupbench find --verify` (issue 39, a first cut of its two stages): a descriptor's near group cut to
the images that the verification calls copies of its largest one. Invoices of one template, drawn by
experiments/data/lookalikes.py: pHash at a loose threshold groups an invoice with the next one, which
differs in one amount; --verify leaves that look-alike out and keeps the invoice's own copies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.data import lookalikes
from tests.test_find import run

LOOSE = ["--method", "phash", "--threshold", "16", "--grouping", "components", "--quiet"]


@pytest.fixture(scope="module")
def invoices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("invoices")
    original, others = lookalikes.invoice_family(np.random.default_rng([7, 0, 1]))
    original.save(folder / "invoice.png")
    others["other_amount"].save(folder / "invoice-next-month.png")
    rng = np.random.default_rng([7, 1])
    lookalikes.COPIES["jpeg70"](original, rng).save(folder / "invoice-resaved.jpg", quality=95)
    lookalikes.COPIES["half"](original, rng).save(folder / "invoice-half.png")
    return folder


def groups_of(folder, tmp_path, *extra) -> list[set[str]]:
    out = tmp_path / f"groups{len(extra)}.json"
    cache = ["--cache", str(tmp_path / "cache.sqlite")]
    code, _, err = run("find", str(folder), *LOOSE, *cache, "--json", str(out), *extra)
    assert code in (0, 1), err
    return [{m["path"].rsplit("/", 1)[-1] for m in g["members"]} for g in json.loads(out.read_text())["groups"]]


def test_a_look_alike_invoice_grouped_by_its_hash_is_left_out_by_verification(invoices, tmp_path):
    without = groups_of(invoices, tmp_path)
    assert any("invoice-next-month.png" in g and "invoice.png" in g for g in without), without  # the hash's mistake
    checked = groups_of(invoices, tmp_path, "--verify")
    assert {"invoice.png", "invoice-resaved.jpg", "invoice-half.png"} in checked, checked
    assert not any("invoice-next-month.png" in g for g in checked), checked
