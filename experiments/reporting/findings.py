"""Findings computed from a result table, never asserted: each sentence is a function of the CSV in
front of the reader, and a finding that picks "the best" names every method tied with it."""

from __future__ import annotations

import pandas as pd

from experiments.reporting.labels import with_labels


def tied_best(values: pd.Series, higher: bool = True, decimals: int | None = None) -> list[str]:
    """Index labels of every entry tied with the best (at `decimals` when given, else exactly)."""
    shown = values.round(decimals) if decimals is not None else values
    best = shown.max() if higher else shown.min()
    return [str(name) for name, value in shown.items() if value == best]


def names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def ranked(values: pd.Series, fmt: str, higher: bool = True) -> str:
    """`a 1.000, b 0.998, ...` best first; equal values at the shown precision read as `a = b 1.000`."""
    shown = values.map(lambda v: format(v, fmt))
    order = values.sort_values(ascending=not higher, kind="stable")
    parts: list[str] = []
    for text in dict.fromkeys(shown[order.index]):
        tied = [str(m) for m in order.index if shown[m] == text]
        parts.append(f"{' = '.join(tied)} {text}")
    return ", ".join(parts)


def article_conclusion(table: pd.DataFrame) -> str:
    """Experiment 1's conclusion on the article's own metrics (top-3 accuracy, seconds per pair in
    its loop), ties shown as ties; then pair AP and mAP, as what separates the tied methods."""
    by = with_labels(table).set_index("method")
    if by["accuracy"].isna().all() or by["mean_s_per_pair"].isna().all():
        return "No conclusion on the article's metrics: this table has no top-3 accuracy or time per pair recorded."
    top = tied_best(by["accuracy"], decimals=6)
    tied = by.loc[top].sort_values("mean_s_per_pair")
    if len(top) == 1:
        text = (
            f"On the article's metrics, {top[0]} alone has the best top-3 accuracy ({by.loc[top[0], 'accuracy']:.2f} %)"
        )
    else:
        text = (
            f"On the article's metrics, {len(top)} of {len(by)} methods tie at the best top-3 accuracy "
            f"({by.loc[top[0], 'accuracy']:.2f} %): {names(list(tied.index))}"
        )
    fastest, slowest = tied.index[0], tied.index[-1]
    text += (
        f"; fastest of them per pair in the article's loop: {fastest} ({tied.loc[fastest, 'mean_s_per_pair']:.2e} s)"
    )
    if len(top) > 1:
        text += (
            f", slowest: {slowest} ({tied.loc[slowest, 'mean_s_per_pair']:.2e} s, "
            f"{tied.loc[slowest, 'mean_s_per_pair'] / tied.loc[fastest, 'mean_s_per_pair']:.0f}x)"
        )
    text += "."
    others = by.drop(index=top)
    if not others.empty:
        text += f" Below them: {ranked(others['accuracy'], '.2f')} %."
    separating = [
        f"{label} {ranked(tied[column], '.3f')}"
        for column, label in (("pair_ap", "pair AP"), ("map", "mAP"))
        if column in tied and tied[column].notna().all()
    ]
    if len(top) > 1 and separating:
        text += f" What separates the tied methods (not the article's metrics): {'; '.join(separating)}."
    return text


def cnn_ratio(table: pd.DataFrame) -> str:
    """The CNN's cost per pair against pixel cosine, with autograd on as the article ran it."""
    cosine = table[table["method"] == "cosine"]
    if cosine.empty:
        return ""
    base = float(cosine["mean_s_per_pair"].iloc[0])
    parts = [
        f"{m} {row['mean_s_per_pair'] / base:.0f}x"
        for m, row in with_labels(table).set_index("method").iterrows()
        if str(m).startswith("cnn_")
    ]
    return f"Per pair in the article's loop, against `cosine`: {', '.join(parts)}." if parts else ""


def matrix_findings(matrix: pd.DataFrame) -> str:
    cells = with_labels(matrix[matrix["family"] != "identity"])
    broken = (cells["recall"] < 1).groupby(cells["method"], sort=False).sum()
    robust = [m for m, n in broken.items() if n == 0]
    fragile = tied_best(broken)
    return (
        f"Recall@1 of 1 in every cell: {', '.join(robust) or 'no method'}. Most fragile: {names(fragile)} "
        f"(below 1 in {int(broken.max())} of {int(cells['method'].eq(fragile[0]).sum())} cells)."
    )


def exp3_findings(table: pd.DataFrame) -> str:
    numpy = table[table["implementation"] == "numpy_norm"].set_index("input")["ratio_to_scipy_median"]
    wraps = table[(table["input"] == "uint8") & ~table["equals_true_distance"].astype(bool)]
    parts = [f"{ratio:.2f}x on {kind}" for kind, ratio in numpy.items()]
    return (
        "numpy/scipy median time per call: "
        + ", ".join(parts)
        + (
            f". On uint8 input {len(wraps)} implementations return a wrapped-around distance, not the true one."
            if len(wraps)
            else "."
        )
    )


def retrieval_findings(table: pd.DataFrame) -> str:
    by = with_labels(table).set_index("method")
    if by["pair_ap"].isna().all():
        return "No pair AP in this table (older version); see the accuracy column."
    best, worst = tied_best(by["pair_ap"], decimals=3), tied_best(by["pair_ap"], higher=False, decimals=3)
    if by["mean_s_per_pair"].isna().all():
        return f"Best at separating duplicates from the rest: {names(best)} (pair AP {by.loc[best[0], 'pair_ap']:.3f})."
    fast, slow = by["mean_s_per_pair"].idxmin(), by["mean_s_per_pair"].idxmax()
    perfect = sorted(by.index[by["accuracy"] >= 100])
    where = "With the fast engine" if "engine" in by and (by["engine"] == "fast").all() else "In the article's loop"
    text = (
        f"Best at separating duplicates from the rest: {names(best)} (pair AP {by.loc[best[0], 'pair_ap']:.3f}); "
        f"worst: {names(worst)} ({by.loc[worst[0], 'pair_ap']:.3f}). {where} {slow} costs "
        f"{by.loc[slow, 'mean_s_per_pair'] / by.loc[fast, 'mean_s_per_pair']:.0f}x {fast} per pair"
    )
    return text + (f"; {len(perfect)} of {len(by)} methods reach 100 % article accuracy." if perfect else ".")


def threshold_findings(thresholds: pd.DataFrame) -> str:
    good = thresholds[thresholds["best_f1"] >= 0.95]
    by = with_labels(thresholds).set_index("method")
    top = tied_best(by["best_f1"], decimals=3)
    p99 = int(thresholds["threshold_at_p99"].notna().sum())
    return (
        f"At its best-F1 threshold {len(good)} of {len(thresholds)} methods reach F1 >= 0.95 (best: {names(top)}, "
        f"F1 {by.loc[top[0], 'best_f1']:.3f}); {p99} of {len(thresholds)} have a threshold with 99 % precision."
    )


def calibration_findings(table: pd.DataFrame) -> str:
    chosen = with_labels(table[table["rule"] == "best_f1"].dropna(subset=["pairwise_f1"])).set_index("method")
    best = tied_best(chosen["pairwise_f1"], decimals=3)
    text = (
        f"Grouping at each method's best-F1 threshold: best {names(best)} (pairwise F1 "
        f"{chosen.loc[best[0], 'pairwise_f1']:.3f})."
    )
    given = with_labels(table[table["rule"].astype(str).str.startswith("given")])
    if not given.empty:
        joined = given.set_index("method")["pairwise_f1"] - chosen["pairwise_f1"]
        text += (
            f" Thresholds carried over from another data set change pairwise F1 by {joined.min():+.3f} "
            f"to {joined.max():+.3f}."
        )
    return text


def bench_findings(table: pd.DataFrame) -> str:
    table = with_labels(table)
    small = table[(table["part"] == "article_vs_fast") & (table["status"] == "ok")]
    big = table[(table["part"] == "scale") & (table["status"] == "ok")]
    text = ""
    if not small.empty:
        text += (
            f"Per pair at N={int(small['n'].iloc[0])} the fast engine is {small['speedup'].min():.1f}x "
            f"({small.loc[small['speedup'].idxmin(), 'method']}) to {small['speedup'].max():.0f}x "
            f"({small.loc[small['speedup'].idxmax(), 'method']}) faster than the article's loop. "
        )
    if not big.empty:
        top = big.loc[big["n"].idxmax()]
        text += (
            f"Largest N run: {int(top['n'])} ({top['method']}, {top['total_s']:.1f} s); highest peak memory "
            f"{big['peak_rss_mib'].max():.0f} MiB."
        )
    return text or "No cell finished."
