"""`make regress`: rerun the quick configurations and fail when a method's accuracy got worse than
its committed baseline (results/baselines/<experiment>-<dataset>.csv).

Quick configurations: Experiment 1 on the embedded set (always there) and on the Fruits-360 subset
when its files are under the data root (they are in CI), each with engine=article and engine=fast;
both engines are held to the article engine's baseline. Each is run exactly as a user runs it
(experiments/run.py, force=true so nothing is reused) into results/regress/.

Compared per method: the article's accuracy, all-queries accuracy, mAP, pair AUC and pair AP. A
faithful method (variant `article`) fails on any change beyond tolerance, better or worse: one that
got "better" no longer computes what the article computed. A corrected or new variant fails only
when a metric falls below baseline - tolerance. Tolerances:
- deterministic methods (SSIM, the hashes, Euclidean pixels): 1e-9, i.e. exact within float noise;
- methods that declare `deterministic = False` (the CNN, SSCD, pixel cosine): 0.005 on the 0-1
  metrics and 1.5 points on accuracy in % (experiments/evaluation/metric_table.py). The CNN's
  features come from float32 convolutions whose summation order depends on the thread count and the
  CPU's SIMD path; pixel cosine's scores are a float32 Gram matrix, summed as the CPU's BLAS kernels
  choose. Scores are rounded to 4 decimals before ranking, so such noise changes a ranking only where
  a score sits on a rounding boundary next to a near-tied neighbour. Measured: torch_threads=1 and 2
  give identical metrics on both sets; an AVX-512 machine (December 2026) against baselines made on
  another moved the field's pair AP on ukbench800 by 5e-7 for pixel cosine and 1e-6 for cnn_cosine
  (which is why pixel cosine, held to 1e-9 until then, declares it too). One hit is 1.39 points on
  Fruits-360 (72 images to find), so one flip there passes and two fail; on the embedded set one hit
  is 4.17 points, so any flip fails.
A method in the baseline but absent from the new run fails too. `make regress-refresh` reruns the
same configurations and makes their tables the new baselines, on purpose.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dupbench.errors import DupbenchError
from dupbench.methods import method_class
from experiments.config import compose_config
from experiments.data import DataMissingError, load_dataset
from experiments.evaluation.metric_table import FIELD_REGRESSED, REGRESSED, tolerance
from experiments.paths import BASELINES, REPO_ROOT, output_name
from experiments.provenance import refuse_dirty
from experiments.runners.common import method_names_of

METRICS = REGRESSED  # from the one metric table, with each metric's tolerance


@dataclass(frozen=True)
class Quick:
    experiment: str
    dataset: str
    always: bool  # False: only when the data set's files are there
    engine: str = "article"
    methods: tuple[str, ...] = ("article",)  # method.names of the run (`article`, `all` or names); only
    # these are compared (the baseline's other rows are not)
    table_name: str = "table.csv"
    extra: tuple[str, ...] = ()  # overrides of this run only
    # False: the baseline is the whole experiment's (with its peers), promoted from `make field`, never
    # replaced by this quick run's table
    refreshed: bool = True
    metrics: tuple[str, ...] = REGRESSED

    def names(self) -> list[str]:

        return method_names_of({"method": {"names": list(self.methods)}})

    @property
    def baseline(self) -> Path:  # both engines answer to the article engine's baseline
        return BASELINES / f"{self.experiment}-{self.dataset}.csv"

    @property
    def name(self) -> str:
        return f"{self.experiment} on {self.dataset}" + (f" (engine={self.engine})" if self.engine != "article" else "")

    def table(self, root: Path) -> Path:
        return root / output_name(self.experiment, self.engine) / self.dataset / self.table_name


QUICK = [
    # The article's loop on the article's methods (the field's take minutes per pair in this loop);
    # the fast engine on every method; both held to the same baseline.
    Quick("exp1", "embedded", True),
    Quick("exp1", "fruits360", False),
    Quick("exp1", "embedded", True, engine="fast", methods=("all",)),
    Quick("exp1", "fruits360", False, engine="fast", methods=("all",)),
    # Every CNN metric is at its ceiling on both Experiment 1 sets, so a change to the faithful CNN
    # (an ImageNet normalisation added, say) would pass there; on the multi-view photos it moves.
    Quick("exp2", "ukbench", False, engine="fast", methods=("cnn_euclidean", "cnn_cosine")),
    # The field table's ranking figures (N-S, mAP, pair AP and AUC, recall at precision 0.99) for
    # every method on ukbench800, without the peer tools (their rows are not the harness's code).
    Quick(
        "field",
        "ukbench800",
        False,
        methods=("all",),
        table_name="field.csv",
        extra=("experiment.peers=false",),
        refreshed=False,
        metrics=FIELD_REGRESSED,
    ),
]


def deterministic(method: str) -> bool:
    """What the method declares; a method no longer registered is held exactly."""
    try:
        return method_class(method).deterministic
    except DupbenchError:
        return True


def compare(baseline: pd.DataFrame, now: pd.DataFrame, metrics: tuple[str, ...] = METRICS) -> pd.DataFrame:
    """One row per (method, metric) that broke its rule: fell below baseline - tolerance, moved
    beyond tolerance either way for a faithful method, or went missing."""
    fresh = now.set_index("method")
    drops = []
    for _, base in baseline.iterrows():
        method = base["method"]
        faithful = str(base.get("variant", "")) == "article"
        for metric in metrics:
            if metric not in baseline or pd.isna(base[metric]):
                continue
            tol = tolerance(metric, deterministic(method))
            value = fresh[metric].get(method, math.nan) if metric in fresh else math.nan
            if pd.isna(value):
                why = "missing"
            elif value < base[metric] - tol:
                why = "worse"
            elif faithful and value > base[metric] + tol:
                why = "changed (faithful)"
            else:
                continue
            drops.append(
                {
                    "dataset": base["dataset"],
                    "method": method,
                    "metric": metric,
                    "baseline": base[metric],
                    "now": value,
                    "change": value - base[metric],
                    "tolerance": tol,
                    "why": why,
                }
            )
    return pd.DataFrame(drops, columns=["dataset", "method", "metric", "baseline", "now", "change", "tolerance", "why"])


def improvements(baseline: pd.DataFrame, now: pd.DataFrame, metrics: tuple[str, ...] = METRICS) -> list[str]:
    shared = [m for m in metrics if m in baseline and m in now]
    joined = baseline[["method", *shared]].merge(now[["method", *shared]], on="method", suffixes=("", "_now"))
    joined = joined.set_index("method")
    better = []
    for method, row in joined.iterrows():
        for metric in shared:
            if row[f"{metric}_now"] > row[metric] + tolerance(metric, deterministic=True) * 10:
                better.append(f"{method} {metric} {row[metric]:.4g} -> {row[f'{metric}_now']:.4g}")
    return better


def one_row_per_method(table: pd.DataFrame) -> pd.DataFrame:
    """A table with a row per threshold rule (the field's) holds its ranking figures on each: one will do."""
    if "status" in table:
        table = table[table["status"].astype(str) == "ok"]
    return table.drop_duplicates("method")


def available(quick: Quick, data_root: str | None) -> bool:
    if quick.always:
        return True

    cfg = compose_config([f"dataset={quick.dataset}", *([f"data_root={data_root}"] if data_root else [])])
    try:
        load_dataset(cfg.dataset)
    except DataMissingError as missing:
        print(f"regress: {quick.experiment} on {quick.dataset} skipped: {missing}")
        return False
    return True


def rerun(quick: Quick, root: Path, extra: list[str]) -> bool:
    """Run one configuration; False when it failed (its finished methods are still compared: a
    method that crashed shows up as missing)."""
    command = [
        sys.executable,
        str(REPO_ROOT / "experiments" / "run.py"),
        f"experiment={quick.experiment}",
        f"dataset={quick.dataset}",
        f"results_root={root}",
        f"engine={quick.engine}",
        "force=true",
        f"method.names=[{','.join(quick.methods)}]",
        *quick.extra,
        *extra,
    ]
    print(f"regress: {' '.join(command[1:])}", flush=True)
    done = subprocess.run(command, cwd=REPO_ROOT)
    if done.returncode:
        print(f"regress: the run of {quick.name} failed (exit {done.returncode})", flush=True)
    return done.returncode == 0


def format_drops(drops: pd.DataFrame) -> str:
    lines = [
        f"{'dataset':<10} {'method':<22} {'metric':<21} {'baseline':>10} {'now':>10} {'change':>10} "
        f"{'tolerance':>9}  why"
    ]
    for _, d in drops.iterrows():
        lines.append(
            f"{d['dataset']:<10} {d['method']:<22} {d['metric']:<21} {d['baseline']:>10.4f} {d['now']:>10.4f} "
            f"{d['change']:>+10.4f} {d['tolerance']:>9.2g}  {d['why']}"
        )
    return "\n".join(lines)


def check(quicks: list[Quick], root: Path) -> list[str]:
    """Compare each configuration's table with its baseline; the names of those that fail."""
    failed = []
    for quick in quicks:
        name = quick.name
        if not quick.baseline.is_file():
            print(f"regress: no baseline {quick.baseline.relative_to(REPO_ROOT)}; make one with make regress-refresh")
            failed.append(name)
            continue
        if not quick.table(root).is_file():
            print(f"regress: {name}: no table at all ({quick.table(root)})")
            failed.append(name)
            continue
        full, now = one_row_per_method(pd.read_csv(quick.baseline)), one_row_per_method(pd.read_csv(quick.table(root)))
        baseline = full[full["method"].isin(quick.names())]
        drops = compare(baseline, now, quick.metrics)
        for method in sorted(set(now["method"]) - set(full["method"])):  # reported, not a failure
            print(f"regress: {name}: {method} has no baseline row yet: not compared (make regress-refresh adds it)")
        if drops.empty:
            compared = [m for m in quick.metrics if m in baseline]
            print(f"regress: {name}: {len(baseline)} methods x {len(compared)} metrics within their rules: ok")
        else:
            print(
                f"regress: {name}: {len(drops)} metric(s) broke their rule (worse than baseline - tolerance; "
                f"faithful methods: any change beyond tolerance):\n{format_drops(drops)}"
            )
            failed.append(name)
        for line in improvements(baseline, now, quick.metrics):
            print(f"regress: {name}: better than baseline: {line} (make regress-refresh to keep it)")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true", help="make the new tables the baselines (on purpose)")
    parser.add_argument("--compare-only", action="store_true", help="compare the tables already in --root, run nothing")
    parser.add_argument("--root", type=Path, default=REPO_ROOT / "results" / "regress")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("overrides", nargs="*", help="extra overrides for every run, e.g. torch_threads=1")
    args = parser.parse_args()
    extra = [*args.overrides, *([f"data_root={args.data_root}"] if args.data_root else [])]
    quicks = [q for q in QUICK if available(q, args.data_root)]
    if args.refresh:  # a baseline holds every method, from the article's loop (minutes per field method)
        quicks = [
            dataclasses.replace(q, methods=("all",)) if q.engine == "article" else q for q in quicks if q.refreshed
        ]
    crashed = [] if args.compare_only else [q.name for q in quicks if not rerun(q, args.root.resolve(), extra)]
    if args.refresh and crashed:
        raise SystemExit(f"regress: not refreshed, these runs failed: {', '.join(crashed)}")
    if args.refresh:
        for quick in (q for q in quicks if q.engine == "article" and q.refreshed):  # fast: checked, never the baseline
            refuse_dirty(quick.table(args.root))
            shutil.copyfile(quick.table(args.root), quick.baseline)
            print(f"regress: {quick.table(args.root)} -> {quick.baseline.relative_to(REPO_ROOT)}")
        return
    failed = set(crashed) | set(check(quicks, args.root))
    if failed:
        names = [q.name for q in quicks if q.name in failed]
        raise SystemExit(
            f"regress: FAILED for {len(names)} configuration(s): {'; '.join(names)}. If the change "
            f"is intended: make regress-refresh and commit results/baselines/"
        )
    print("regress: passed")


if __name__ == "__main__":
    main()
