"""Findings computed from a result table, never asserted: each sentence is a function of the CSV in
front of the reader, and a finding that picks "the best" names every method tied with it."""

from __future__ import annotations

import pandas as pd

from .labels import with_labels


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
    if len(top) > 1 and {"pair_ap", "map"} <= set(by.columns):
        text += (
            f" What separates the tied methods (not the article's metrics): pair AP {ranked(tied['pair_ap'], '.3f')}; "
            f"mAP {ranked(tied['map'], '.3f')}."
        )
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
