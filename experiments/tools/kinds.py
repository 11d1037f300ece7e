"""`make kinds`: precision on every kind of folder (issue 21). Every method, under every grouping rule,
and every peer tool, on data of several kinds, each with true duplicates and true negatives and a
companion where nothing is a duplicate:

    photos     ukbench800 (200 objects x 4 views)      ukbench800-nodup (200 distinct photos)
    documents  documents (240 pages, 120 with copies)  documents-nodup (240 distinct pages)
    charts     charts (240 charts, 120 with copies)    charts-nodup (240 distinct charts)
    products   fruits360 (24 fruit x axis groups)      fruits360-nodup (10 distinct fruits)

Each set is split into a calibration half and a scored half by group (experiments.evaluation.
field_metrics.splits); each half is a folder of its own, as `dupbench find` would be given it.
Per method and rule (grouping x normalisation, dupbench.grouping), the threshold is fitted on the
calibration halves of every kind at once (experiments.evaluation.fit: 99 % pairwise precision on
each, at most 10 per 1,000 images grouped where nothing is a duplicate), then scored on the scored
halves (fit "all kinds"); and once per kind, fitted without that kind and scored on it (fit
"without <kind>": leave-one-kind-out). Rows are tidy: one per method or peer, rule, fit and kind,
with pairwise precision (and a bootstrap interval), recall, B-cubed F1, pairs found, the images
wrongly grouped per 1,000 in the no-duplicate half, and whether the calibration half found enough
pairs to support 99 % at all (300, the rule of three).

Per method one rule is `chosen`: the best mean recall over the kinds among the rules whose
threshold held 99 % on every kind's scored half (and the no-duplicate limit); `make thresholds`
ships the chosen rows to `dupbench find`. Peers run once per scored half, at their defaults; so does each
rule of `dupbench find` in experiments.peers.catalog.FINDERS (tool "finder": issue 39's two stages).
Outputs: results/kinds/kinds.csv, meta.json; `--methods A B` / `--peers X Y` rerun only those and keep
the other rows of the table there.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dupbench.errors import DupbenchError
from dupbench.grouping import GROUPINGS, NORMALISATIONS, Rule
from dupbench.images.decode import Decode, file_digests, usable
from dupbench.methods import create_method, method_names
from experiments.config import compose_config
from experiments.data import Dataset, load_dataset
from experiments.data.encode import OverBudget, encode
from experiments.evaluation.field_metrics import group_codes, splits
from experiments.evaluation.fit import Folder, evaluate, fit
from experiments.evaluation.group_metrics import bootstrap_precision, supports
from experiments.paths import BASELINES, REPO_ROOT
from experiments.peers.catalog import FINDERS, PEERS, Peer
from experiments.peers.run import evaluate_peer
from experiments.provenance import environment, now_utc
from experiments.reporting.labels import method_label
from experiments.reporting.render import render_kinds
from experiments.reporting.sections import Entry, Section
from experiments.tables import atomic_write_csv

log = logging.getLogger("dupbench.kinds")
OUT = REPO_ROOT / "results" / "kinds"
KINDS = {
    "photos": ("ukbench800", "ukbench800-nodup"),
    "documents": ("documents", "documents-nodup"),
    "charts": ("charts", "charts-nodup"),
    "products": ("fruits360", "fruits360-nodup"),
}
PRECISION = 0.99
MAX_WRONG_PER_1000 = 10.0
BACKGROUND_K = 10
MAX_ENCODE_S_PER_IMAGE = 0.2
WORKERS = 2


def halves(dataset: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = group_codes(dataset.groups)
    calibrate, scored = splits(codes)
    return codes, calibrate, scored


def usable_dataset(dataset: Dataset) -> Dataset:
    bad = usable([item.path for item in dataset.items], WORKERS)
    return dataset.without(bad) if bad else dataset


def field_rates() -> dict[str, float]:
    """Each method's encoding rate on 640x480 photos, from the committed field table (this run's
    encodes hit the feature cache for most images, so their own rate says nothing)."""
    path = BASELINES / "field-ukbench800.csv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path)
    ok = table[(table["kind"] == "method") & (table["status"].astype(str) == "ok")]
    return dict(zip(ok["method"], ok["images_per_s"]))


class Kinds:
    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self.sets: dict[str, dict[str, Dataset]] = {}
        for kind, names in KINDS.items():
            self.sets[kind] = {}
            for role, name in zip(("main", "nodup"), names):
                cfg = compose_config([f"dataset={name}"])
                self.sets[kind][role] = usable_dataset(load_dataset(cfg.dataset))
        self.digests = {
            (kind, role): file_digests([it.path for it in d.items], WORKERS)
            for kind, roles in self.sets.items()
            for role, d in roles.items()
        }
        self.env = environment()
        self.rates = field_rates()

    def stamp(self) -> dict[str, Any]:
        return {"machine": self.env["machine"], "git_commit": self.env["git_commit"], "finished_at": now_utc()}

    # --- methods ---------------------------------------------------------------------------------
    def folders(self, method) -> tuple[list[Folder], list[Folder], float]:
        """Calibration and scored folders of every kind; the seconds spent encoding."""
        calibrate, scored, seconds = [], [], 0.0
        for kind, roles in self.sets.items():
            for role, dataset in roles.items():
                paths = [it.path for it in dataset.items]
                start = time.perf_counter()
                encoded = encode(
                    method,
                    paths,
                    self.digests[(kind, role)],
                    Decode.for_method(method),
                    self.cache_dir,
                    WORKERS,
                    budget_s=MAX_ENCODE_S_PER_IMAGE * len(paths),
                    always_cache=True,
                )
                seconds += time.perf_counter() - start
                codes, cal, sco = halves(dataset)
                calibrate.append(Folder.of(kind, role, method, encoded.prepared, codes, cal))
                scored.append(Folder.of(kind, role, method, encoded.prepared, codes, sco))
        return calibrate, scored, seconds

    def prior(self, method, calibrate: list[Folder]) -> float:
        """The background in a folder of unrelated photos: the median k-th neighbour score there."""
        photos = next(f for f in calibrate if f.kind == "photos" and f.role == "nodup")
        return float(np.median(photos.near.scores[:, BACKGROUND_K - 1]))

    def score(self, method, rule: Rule, scored: list[Folder], calibrate: list[Folder], kind: str) -> dict[str, Any]:
        main = next(f for f in scored if f.kind == kind and f.role == "main")
        nodup = next(f for f in scored if f.kind == kind and f.role == "nodup")
        if np.isnan(rule.threshold):  # no threshold held on the calibration halves: nothing to score
            return {"data": kind, "threshold": np.nan, "held": False, "precision": np.nan, "recall": np.nan,
                    "nodup_images_grouped": np.nan, "nodup_images": len(nodup.codes)}  # fmt: skip
        groups, figures = evaluate(method, main, rule)
        low, high = bootstrap_precision(groups, main.codes)
        _, empty = evaluate(method, nodup, rule)
        cal = next(f for f in calibrate if f.kind == kind and f.role == "main")
        _, on_cal = evaluate(method, cal, rule)
        held = (not figures["pairs_found"] or figures["precision"] >= PRECISION) and empty[
            "wrong_per_1000"
        ] <= MAX_WRONG_PER_1000
        return {
            "data": kind,
            "threshold": rule.threshold,
            **{
                k: figures[k] for k in ("precision", "recall", "bcubed_f1", "pairs_found", "true_pairs", "groups_found")
            },
            "precision_lo": low,
            "precision_hi": high,
            "images": len(main.codes),
            "nodup_images": len(nodup.codes),
            "nodup_images_grouped": empty["images_grouped"],
            "nodup_wrong_per_1000": empty["wrong_per_1000"],
            "calibration_pairs": on_cal["pairs_found"],
            "supports_p99": supports(int(on_cal["pairs_found"] or 0), PRECISION),
            "held": bool(held),
        }

    def run_method(self, name: str) -> list[dict]:
        method = create_method(name)
        base = {
            "tool": "method",
            "method": name,
            "label": method_label(name, method.describe()["backbone"]),
            "variant": method.variant,
            "direction": method.direction,
            "decode": Decode.for_method(method).label,
            "images_per_s": self.rates.get(name, np.nan),
        }
        try:
            calibrate, scored, seconds = self.folders(method)
        except OverBudget as over:
            reason = f"skipped: {over} (from its first batch), over {MAX_ENCODE_S_PER_IMAGE:g} s per image"
            log.warning("%-24s %s", name, reason)
            return [{**base, "status": reason, **self.stamp()}]
        prior = self.prior(method, calibrate)
        rows = []
        for grouping in GROUPINGS:
            for normalise in NORMALISATIONS:
                template = Rule(np.nan, grouping, normalise, BACKGROUND_K, prior if normalise == "local" else None)
                rule = replace(template, threshold=fit(method, calibrate, template, PRECISION, MAX_WRONG_PER_1000))
                common = {
                    **base,
                    "grouping": grouping,
                    "normalise": normalise,
                    "background_k": BACKGROUND_K,
                    "prior": template.prior,
                    "encode_s": seconds,
                    "status": "ok",
                }
                rows += [
                    {**common, "fit": "all kinds", **self.score(method, rule, scored, calibrate, k)} for k in KINDS
                ]
                for left_out in KINDS:
                    others = [f for f in calibrate if f.kind != left_out]
                    loko = replace(template, threshold=fit(method, others, template, PRECISION, MAX_WRONG_PER_1000))
                    rows.append(
                        {
                            **common,
                            "fit": f"without {left_out}",
                            **self.score(method, loko, scored, calibrate, left_out),
                        }
                    )
        method.release()
        rows = choose(rows)
        best = next((r for r in rows if r.get("chosen") and r["fit"] == "all kinds"), None)
        if best:
            log.info("%-24s chosen: %s", name, best["summary"])
        return [{**row, **self.stamp()} for row in rows]

    # --- peers -----------------------------------------------------------------------------------
    def run_peers(self, chosen: list[str] | None) -> list[dict]:
        rows = []
        peers = [p for p in (*PEERS, *FINDERS) if chosen is None or p.name in chosen]
        for peer in peers:
            for kind, roles in self.sets.items():
                figures: dict[str, dict] = {}
                for role, dataset in roles.items():
                    # Only the scored half staged, a folder of its own as `dupbench find` is given it
                    # (the methods' rows are scored on the same halves); its merged groups scored.
                    _, _, scored = halves(dataset)
                    dropped = {i: "calibration half" for i in set(range(len(dataset.items))) - set(scored)}
                    half = dataset.without(dropped)
                    outcome = evaluate_peer(peer, half, timeout=1800.0)
                    figures[role] = {**outcome, **outcome.get("groups", {})}
                row = self.peer_row(peer, kind, figures["main"], figures["nodup"])
                log.info("%-26s %-9s %s", peer.name, kind, summary_of(row))
                rows.append(row)
        return rows

    def peer_row(self, peer: Peer, kind: str, main: dict, nodup: dict) -> dict:
        status = main["status"] if main["status"] != "ok" else nodup["status"]
        row = {
            "tool": "finder" if peer in FINDERS else "peer",  # a rule of dupbench find, run as a peer is
            "method": peer.name,
            "label": peer.name,
            "variant": peer.environment.name,
            "grouping": "its own",
            "normalise": "none",
            "threshold_source": peer.default,
            "fit": "default",
            "data": kind,
            "status": status,
            **self.stamp(),
        }
        if status == "ok":
            held = (not main["pairs_found"] or main["precision"] >= PRECISION) and nodup[
                "wrong_per_1000"
            ] <= MAX_WRONG_PER_1000
            row.update(
                {
                    "version": main.get("version", ""),
                    **{k: main[k] for k in ("precision", "recall", "bcubed_f1", "pairs_found", "true_pairs")},
                    "groups_found": main["groups_found"],
                    # Empty in every peer row so far (it was read from a key no outcome held): kept so,
                    # the committed kinds.csv's peer rows have no images either.
                    "images": np.nan,
                    "nodup_images_grouped": nodup["images_grouped"],
                    "nodup_wrong_per_1000": nodup["wrong_per_1000"],
                    "held": bool(held),
                    "wall_s": main["wall_s"] + nodup["wall_s"],
                    "peak_rss_mib": max(main["peak_rss_mib"], nodup["peak_rss_mib"]),
                }
            )
        return row


def summary_of(row: dict) -> str:
    if row.get("status") != "ok":
        return str(row.get("status"))
    return (
        f"precision {row['precision']:.3f}, recall {row['recall']:.3f}, "
        f"{row['nodup_images_grouped']} of the distinct images grouped"
    )


def choose(rows: list[dict]) -> list[dict]:
    """Per rule: held on every kind (fit on all kinds), mean recall; then the method's chosen rule."""
    frame = pd.DataFrame(rows)
    fitted = frame[frame["fit"] == "all kinds"]
    verdicts = {}
    for (grouping, normalise), part in fitted.groupby(["grouping", "normalise"], sort=False):
        held = bool(part["held"].fillna(False).all()) and part["threshold"].notna().all()
        missed = [
            f"{r.data} (precision {r.precision:.3f}, {r.nodup_images_grouped:.0f} distinct images grouped)"
            for r in part.itertuples()
            if not r.held
        ]
        recall = float(part["recall"].fillna(0).mean())
        verdicts[(grouping, normalise)] = {
            "held_everywhere": held,
            "mean_recall": recall,
            "why_not": "no threshold held 99 % on every calibration half"
            if part["threshold"].isna().any()
            else ("missed 99 % on " + ", ".join(missed) if missed else ""),
        }
    held = [key for key, v in verdicts.items() if v["held_everywhere"]]
    pool = held or list(verdicts)
    # Best mean recall; among equals, a grouping that cannot chain (the order of GROUPINGS after the first).
    best = max(pool, key=lambda key: (round(verdicts[key]["mean_recall"], 3), key[0] != "components"))
    out = []
    for row in rows:
        key = (row["grouping"], row["normalise"])
        verdict = verdicts[key]
        threshold = row["threshold"]
        out.append(
            {
                **row,
                **verdict,
                "chosen": key == best,
                "summary": describe(row, verdict) if row["fit"] == "all kinds" and not np.isnan(threshold) else "",
            }
        )
    return out


def describe(row: dict, verdict: dict) -> str:
    background = " on scores less the folder background" if row["normalise"] == "local" else ""
    held = (
        "held 99 % pairwise precision on each kind's scored half" if verdict["held_everywhere"] else verdict["why_not"]
    )
    return (
        f"{row['grouping']} groups at {row['threshold']:g}{background}; fitted on {', '.join(KINDS)}: {held}, "
        f"mean recall {verdict['mean_recall']:.3f}"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="*", default=None, help="method names (default: every one; none: --methods)")
    parser.add_argument("--peers", nargs="*", default=None, help="peer names (default: every one; none: --peers)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "results" / "cache" / "features")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        kinds = Kinds(args.cache)
    except DupbenchError as problem:
        raise SystemExit(f"error: {problem}") from None
    # A run of some methods or peers replaces their rows only: the rows of the others in the table
    # already there are kept (as bench-scale keeps the parts it did not run).
    methods = method_names() if args.methods is None else args.methods
    peers = [p.name for p in (*PEERS, *FINDERS)] if args.peers is None else args.peers
    old = pd.read_csv(args.out / "kinds.csv") if (args.out / "kinds.csv").is_file() else pd.DataFrame()
    rows: list[dict] = [] if old.empty else old[~old["method"].isin([*methods, *peers])].to_dict("records")
    for name in methods:
        rows += kinds.run_method(name)
        atomic_write_csv(args.out / "kinds.csv", pd.DataFrame(rows))  # every finished method kept
    if peers:
        rows += kinds.run_peers(peers)
    atomic_write_csv(args.out / "kinds.csv", pd.DataFrame(rows))
    meta = {"wall_s": time.perf_counter() - start, "environment": kinds.env, "kinds": KINDS, "finished_at": now_utc()}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
    log.info("kinds: %.0f s, %s", meta["wall_s"], args.out / "kinds.csv")


ENTRY = Entry(
    key="kinds",
    title="Kinds: precision on every kind of folder",
    output="kinds",
    section=Section(table="kinds.csv", render=render_kinds),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
