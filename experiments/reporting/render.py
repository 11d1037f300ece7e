"""Markdown from result tables: pure functions of a DataFrame (and the source path they name), used
by the README/docs blocks and by REPORT.md alike. A CNN's method cell always names its backbone."""

from __future__ import annotations

import pandas as pd

from experiments.evaluation.metric_table import BY_NAME
from experiments.evaluation.recommend import MIN_RATE, default_method
from experiments.reporting.findings import (
    article_conclusion,
    cnn_ratio,
    exp3_findings,
    matrix_findings,
    threshold_findings,
)
from experiments.reporting.labels import with_labels


def markdown(frame: pd.DataFrame, formats: dict[str, str], headings: dict[str, str] | None = None) -> str:
    """A markdown table of the given columns and formats (headings: the metric table's labels, or
    the column names); a CNN's method cell names its backbone."""
    frame = with_labels(frame)
    names = [(headings or {}).get(c) or (BY_NAME[c].label if c in BY_NAME else c) for c in formats]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(formats)]
    for _, row in frame.iterrows():
        cells = []
        for column, fmt in formats.items():
            value = row.get(column)
            cells.append("" if value is None or pd.isna(value) else format(value, fmt) if fmt else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


NOT_RECORDED = "not recorded"


def recorded(row: pd.Series, key: str, fmt: str = "") -> str:
    """One field of a result row as text, or "not recorded" where the run wrote none (a fast run that
    never loads torch has no torch thread count; an older table lacks newer columns)."""
    value = row.get(key)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return NOT_RECORDED
    return format(value, fmt) if fmt else str(value)


def threads(row: pd.Series) -> str:
    count = recorded(row, "torch_threads", ".0f")
    return f"torch threads {count}" if count == NOT_RECORDED else f"{count} torch threads"


def commits(table: pd.DataFrame) -> str:
    found = sorted(set(table["git_commit"].dropna().astype(str))) if "git_commit" in table else []
    return ", ".join(found) or NOT_RECORDED


RETRIEVAL_COLUMNS = ("accuracy", "accuracy_all_queries", "map", "pair_ap", "mean_s_per_pair", "prepared_s_per_pair")
FAST_LABELS = {
    "mean_s_per_pair": "s/pair (fast engine: whole run / pairs)",
    "prepared_s_per_pair": "s/pair (scoring only)",
}


def render_retrieval(table: pd.DataFrame, source: str) -> str:
    """Experiment 1 or 2: one row per method (metrics from the metric table), the CNN's ratio to
    pixel cosine, and the conclusion computed on the article's own metrics."""
    fast = "engine" in table and (table["engine"] == "fast").all()
    labels = [FAST_LABELS.get(c, BY_NAME[c].label) if fast else BY_NAME[c].label for c in RETRIEVAL_COLUMNS]
    lines = ["| method | variant | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    for _, row in with_labels(table).iterrows():
        cells = [recorded(row, c, BY_NAME[c].fmt) for c in RETRIEVAL_COLUMNS]
        lines.append(f"| {row['method']} | {row['variant']} | " + " | ".join(cells) + " |")
    if not fast and cnn_ratio(table):
        lines += ["", cnn_ratio(table)]
    lines += ["", article_conclusion(table)]
    first = table.iloc[0]
    lines.append("")
    lines.append(
        f"Measured on {recorded(first, 'machine')} ({threads(first)}), {dates(table)}, commit "
        f"{recorded(first, 'git_commit')}; data set {recorded(first, 'dataset')} "
        f"({recorded(first, 'n_images', '.0f')} images, "
        f"{recorded(first, 'n_references', '.0f')} references, {recorded(first, 'n_pairs', '.0f')} pairs, "
        f"resize {recorded(first, 'resize')}). "
        f"Source: `{source}`."
    )
    return "\n".join(lines)


def render_cnn_timing(table: pd.DataFrame, source: str) -> str:
    """The CNN against pixel cosine per pair, autograd on (the article) and off, Lite0 and B0."""
    weights = table["weights"].fillna("").astype(str)
    shown = table.assign(weights=weights.map(lambda w: "pretrained" if len(w) == 64 else w or "-"))
    columns = {"method": "", "weights": "", "autograd": "", "mean_s_per_pair": ".2e", "ratio_to_cosine": ".1f"}
    lines = [markdown(shown, columns, {"mean_s_per_pair": "s/pair (article loop)", "ratio_to_cosine": "x cosine"})]
    on = with_labels(table[(table["autograd"] == "on") & table["method"].str.startswith("cnn_")]).set_index("method")
    if not on.empty:
        ratios = ", ".join(f"{m} {r:.0f}x" for m, r in on["ratio_to_cosine"].sort_values(ascending=False).items())
        lines += [
            "",
            f"With autograd on, as the article ran it, per pair against `cosine`: {ratios}; the article "
            "reports about 250x with B0.",
        ]
        cosine = on[on.index.str.startswith("cnn_cosine")]
        lite, b0 = cosine[cosine.index.str.contains("Lite0")], cosine[cosine.index.str.contains("B0")]
        if not lite.empty and not b0.empty:
            lite_r, b0_r = float(lite["ratio_to_cosine"].iloc[0]), float(b0["ratio_to_cosine"].iloc[0])
            lines[-1] += (
                f" B0 costs {b0_r / lite_r:.2f}x Lite0 here, so of the gap from Lite0's {lite_r:.0f}x to 250x, "
                f"the architecture closes {100 * (b0_r - lite_r) / (250 - lite_r):.0f} %; the rest is not the "
                "network (the article timed a 2019 MacBook Pro, other library versions)."
            )
    first = table.iloc[0]
    lines += [
        "",
        f"{recorded(first, 'pairs_timed', '.0f')} pairs of the protocol on {recorded(first, 'dataset')} at "
        f"{recorded(first, 'resize')}, "
        f"median of {recorded(first, 'rounds', '.0f')} interleaved rounds; measured on {recorded(first, 'machine')} "
        f"({threads(first)}), {dates(table)}, commit {recorded(first, 'git_commit')}. "
        f"B0 rows with `random-init` weights time the architecture only. Source: `{source}`.",
    ]
    return "\n".join(lines)


def render_bench_scale(table: pd.DataFrame, source: str) -> str:
    small = table[table["part"] == "article_vs_fast"]
    big = table[table["part"] == "scale"]
    lines = [
        markdown(
            small,
            {
                "method": "",
                "n": ".0f",
                "article_s_per_pair": ".2e",
                "fast_s_per_pair": ".2e",
                "speedup": ".1f",
                "total_over_floor": ".2f",
                "status": "",
            },
        ),
        "",
        markdown(
            big,
            {
                "method": "",
                "n": ".0f",
                "status": "",
                "prepare_s": ".2f",
                "search_s": ".2f",
                "total_s": ".2f",
                "peak_rss_mib": ".0f",
                "predicted_s": ".0f",
            },
        ),
    ]
    ann = table[table["part"] == "ann"] if "part" in table else table.iloc[:0]
    if not ann.empty:
        lines += [
            "",
            f"Approximate search at {recorded(ann.iloc[0], 'n', ',.0f')} vectors (faiss; recall@10 against the "
            f"exact flat "
            f"index; near: the near duplicates' recall, a query's own cluster among its exact top 10; each knob "
            f"chosen on {recorded(ann.iloc[0], 'queries', '.0f')} queries as the smallest reaching "
            f"{ann['target_recall'].max() if 'target_recall' in ann else 0.95:.2f} of the recall in `tuned_for`, "
            "the row measured on as many others):",
            "",
            markdown(
                ann,
                {
                    "index": "",
                    "n": ".0f",
                    "build_s": ".1f",
                    "search_s": ".3f",
                    "tuned_for": "",
                    "recall_at_10": ".3f",
                    "near_recall": ".3f",
                    "reaches_target": "",
                    "speedup_vs_flat": ".1f",
                    "bytes_per_vector": ".0f",
                    "peak_rss_mib": ".0f",
                    "status": "",
                },
            ),
        ]
    first = table.iloc[0]
    lines += [
        "",
        f"Measured on {recorded(first, 'machine')} ({threads(first)}), {dates(table)}, "
        f"commit {commits(table)}. Source: `{source}`.",
    ]
    return "\n".join(lines)


def render_breaking_points(matrix: pd.DataFrame, source: str) -> str:
    """Per method and family: the mildest severity at which recall@1 first drops below 1."""
    families = [f for f in dict.fromkeys(matrix["family"]) if f != "identity"]
    lines = ["| method | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
    for method, rows in with_labels(matrix).groupby("method", sort=False):
        cells = []
        for family in families:
            cell = rows[rows["family"] == family]
            misses = cell[cell["recall"] < 1]
            if misses.empty:
                cells.append("-")
            elif len(cell) == 1:
                cells.append(f"{misses['recall'].iloc[0]:.2f}")
            else:
                worst = misses.iloc[0]
                cells.append(f"{worst['severity']:g} ({worst['recall']:.2f})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    first = matrix.iloc[0]
    lines.append("")
    lines.append(
        f"Each cell: the mildest severity at which recall@1 drops below 1, with the recall there; `-` = "
        f"recall 1 at every severity (for one-severity families, the recall itself). "
        f"{recorded(first, 'n', '.0f')} base "
        f"images of {recorded(first, 'dataset')}, seed {recorded(first, 'seed', '.0f')}; measured on "
        f"{recorded(first, 'machine')}, "
        f"{dates(matrix)}, commit {recorded(first, 'git_commit')}. Source: `{source}`."
    )
    lines += ["", matrix_findings(matrix)]
    return "\n".join(lines)


def render_exp3(table: pd.DataFrame, source: str) -> str:
    lines = [
        "| implementation | input | median us/call | p5-p95 us | ratio to scipy: median (p5-p95) | true distance |",
        "|---|---|---:|---:|---:|---|",
    ]
    for _, row in table.iterrows():
        truth = (
            "yes"
            if row["equals_true_distance"]
            else f"no: wraps (max relative difference {row['max_rel_diff_vs_true']:.0f})"
        )
        lines.append(
            f"| {row['implementation']} | {row['input']} | {row['median_s'] * 1e6:.1f} | "
            f"{row['p5_s'] * 1e6:.1f}-{row['p95_s'] * 1e6:.1f} | {row['ratio_to_scipy_median']:.3f} "
            f"({row['ratio_to_scipy_p5']:.3f}-{row['ratio_to_scipy_p95']:.3f}) | {truth} |"
        )
    first = table.iloc[0]
    lines.append("")
    lines.append(
        f"{recorded(first, 'n_calls', '.0f')} calls each on {recorded(first, 'dataset')} images of "
        f"{recorded(first, 'resize')}; measured on "
        f"{recorded(first, 'machine')} (BLAS {recorded(first, 'blas')}), {dates(table)}, commit "
        f"{recorded(first, 'git_commit')}. "
        f"Source: `{source}`."
    )
    lines += ["", exp3_findings(table)]
    return "\n".join(lines)


def every(table: pd.DataFrame, key: str) -> str:
    """Each value a column records, in the table's order (a table whose rows came from several runs)."""
    found = list(dict.fromkeys(str(v) for v in table[key].dropna())) if key in table else []
    return "; ".join(found) or NOT_RECORDED


def dates(table: pd.DataFrame) -> str:
    found = sorted({str(t)[:10] for t in table["finished_at"].dropna()}) if "finished_at" in table else []
    return ", ".join(found) or f"date {NOT_RECORDED}"


def render_thresholds(thresholds: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Pair classification per method (thresholds.csv beside a retrieval table), and its finding."""
    if "backbone" not in thresholds:
        thresholds = thresholds.merge(table[["method", "backbone"]], on="method", how="left")
    columns = {
        "method": "",
        "direction": "",
        "auc": ".3f",
        "ap": ".3f",
        "best_f1": ".3f",
        "threshold_at_best_f1": ".6g",
        "precision": ".3f",
        "recall": ".3f",
        "threshold_at_p99": ".6g",
    }
    return [
        "Pair classification (every pair; same group = positive), thresholds in each method's own units:\n\n"
        + markdown(thresholds, columns),
        f"**Findings.** {threshold_findings(thresholds)}",
    ]


def render_calibration(table: pd.DataFrame, source: str) -> str:
    columns = {
        "method": "",
        "rule": "",
        "threshold": ".6g",
        "pair_precision": ".3f",
        "pair_recall": ".3f",
        "pairwise_precision": ".3f",
        "pairwise_recall": ".3f",
        "pairwise_f1": ".3f",
        "n_clusters": ".0f",
        "n_groups": ".0f",
    }
    first = table.iloc[0]
    return (
        markdown(table, columns) + f"\n\nMeasured on {recorded(first, 'machine')}, {dates(table)}, commit "
        f"{recorded(first, 'git_commit')}; the YAML snippets are in `thresholds/` beside the source. Source: "
        f"`{source}`."
    )


def render_peers(table: pd.DataFrame, source: str) -> str:
    """Each peer at its default threshold (time, peak memory, pairs found, precision, recall) beside
    the equivalent harness method at its best-F1 threshold on the same data."""
    shown = table.assign(status=table["status"].astype(str).str.slice(0, 60))
    columns = {
        "peer": "",
        "version": "",
        "status": "",
        "wall_s": ".2f",
        "peak_rss_mib": ".0f",
        "pairs_found": ".0f",
        "precision": ".3f",
        "recall": ".3f",
        "equivalent": "",
        "calibrated_precision": ".3f",
        "calibrated_recall": ".3f",
    }
    headings = {
        "wall_s": "wall s",
        "peak_rss_mib": "peak MiB",
        "pairs_found": "pairs found",
        "precision": "precision (default)",
        "recall": "recall (default)",
        "equivalent": "harness method",
        "calibrated_precision": "precision (calibrated)",
        "calibrated_recall": "recall (calibrated)",
    }
    first = table.iloc[0]
    return (
        markdown(shown, {c: f for c, f in columns.items() if c in table}, headings)
        + f"\n\n{recorded(first, 'n_images', '.0f')} images of {recorded(first, 'dataset')}; every pair inside "
        f"a group a tool returns "
        f"is a pair it calls duplicate; true pairs share a group in the manifest. Calibrated: the harness "
        f"method's best-F1 threshold on the same data (an upper bound: fitted and scored on one set). "
        f"Measured on {recorded(first, 'machine')}, {dates(table)}, commit {recorded(first, 'git_commit')}. "
        f"Source: `{source}`."
    )


def render_field(table: pd.DataFrame, source: str) -> str:
    """The field's headline: one line per method or peer, its ranking figures, its time and memory,
    and what it finds at its shipped default and at the threshold calibrated on the other half."""
    ok = table[table["status"].astype(str) == "ok"]
    if ok.empty:
        return f"No finished rows yet. Source: `{source}`."
    first = ok.iloc[0]
    methods = ok[ok["kind"] == "method"]
    ranked = methods.drop_duplicates("method").set_index("method")
    rules = {rule: methods[methods["rule"] == rule].set_index("method") for rule in ("default", "p99", "groups_p99")}

    def called(rule: str, name: str) -> str:
        table = rules[rule]
        if name not in table.index or pd.isna(table.at[name, "precision"]):
            return ""
        return (
            f"{table.at[name, 'pairs_found']:.0f} / {table.at[name, 'precision']:.3f} / {table.at[name, 'recall']:.3f}"
        )

    rows = []
    for name, row in ranked.sort_values(["recall_at_p99", "pair_ap"], ascending=False).iterrows():
        default = rules["default"]
        rows.append(
            {
                "method": str(row.get("label") or name),
                "ns_score": row["ns_score"],
                "map": row["map"],
                "pair_ap": row["pair_ap"],
                "micro_ap": row.get("micro_ap", float("nan")),
                "recall_at_p99": row["recall_at_p99"],
                "total_s": f"{row['total_s']:.1f}" + (" (cached)" if row.get("cache_hits", 0) > 0 else ""),
                "images_per_s": row["images_per_s"],
                "peak_rss_mib": row["peak_rss_mib"],
                "default": (
                    f"{default.at[name, 'pairs_found']:.0f} / {default.at[name, 'precision']:.3f} / "
                    f"{default.at[name, 'recall']:.3f}"
                    if name in default.index and pd.notna(default.at[name, "precision"])
                    else ("none found" if name in default.index else "")
                ),
                "calibrated": called("p99", name),
                "groups": called("groups_p99", name),
            }
        )
    # A rule of dupbench find run as a peer is (its whole process), then the tools.
    for _, row in pd.concat([ok[ok["kind"] == "finder"], ok[ok["kind"] == "peer"]]).iterrows():
        rows.append(
            {
                "method": row["method"] if row["kind"] == "finder" else f"{row['method']} (tool)",
                "total_s": f"{row['total_s']:.1f}" + (" (cached)" if row.get("cache_hits", 0) > 0 else ""),
                "images_per_s": row["images_per_s"],
                "peak_rss_mib": row["peak_rss_mib"],
                "default": (
                    f"{row['pairs_found']:.0f} / {row['precision']:.3f} / {row['recall']:.3f}"
                    if pd.notna(row["precision"])
                    else f"{row['pairs_found']:.0f} found"
                ),
            }
        )
    frame = pd.DataFrame(rows)
    micro = "micro_ap" in frame and not frame["micro_ap"].isna().all()
    if not micro and "micro_ap" in frame:  # a set without edited copies
        frame = frame.drop(columns="micro_ap")
    formats = {
        "method": "",
        "ns_score": ".2f",
        "map": ".3f",
        "pair_ap": ".3f",
        "micro_ap": ".3f",
        "recall_at_p99": ".3f",
        "total_s": "",
        "images_per_s": ".0f",
        "peak_rss_mib": ".0f",
        "default": "",
        "calibrated": "",
        "groups": "",
    }
    headings = {
        "ns_score": "N-S",
        "map": "mAP",
        "pair_ap": "pair AP",
        "micro_ap": "µAP (edits)",
        "recall_at_p99": "R@P0.99",
        "total_s": "total s",
        "images_per_s": "img/s",
        "peak_rss_mib": "peak MiB",
        "default": "default: pairs / P / R",
        "calibrated": "calibrated p99: pairs / P / R",
        "groups": "finder (groups p99): pairs / P / R",
    }
    skipped = table[table["status"].astype(str) != "ok"]
    missing = "; ".join(f"{r['method']}: {str(r['status'])[:90]}" for _, r in skipped.iterrows())
    targets = field_targets(ok)
    return (
        markdown(frame, {c: f for c, f in formats.items() if c in frame}, headings)
        + (f"\n\nSpeed targets (issue 15), from this table: {targets}." if targets else "")
        + f"\n\n{recorded(first, 'n_images', '.0f')} images of {recorded(first, 'dataset')} "
        f"({recorded(first, 'n_groups', '.0f')} groups), all pairs; "
        "N-S: group-mates in an image's top 4, itself included (max 4); "
        + ("µAP: DISC21's micro-AP, every edited copy against the originals, one pooled ranking; " if micro else "")
        + "R@P0.99: recall at precision 0.99 over "
        "all pairs. Thresholds are scored on the second half of the groups: the method's shipped default; "
        "p99, the loosest threshold reaching 99 % precision on the first half's pairs; finder, the loosest whose "
        "groups (connected components, as `dupbench find` forms them) kept 99 % there, counted as the pairs "
        "inside its groups. Time: decode + encode + all pairs in one process (tools, and the rows named "
        "dupbench find: the whole command, start-up included, cold); peak: resident memory of the "
        f"process while it ran. Measured on {every(ok, 'machine')}, {dates(table)}, commits "
        f"{every(ok, 'git_commit')}: rows added by a later run on another machine compare in time only with the "
        "rows of that run (the same date and machine). "
        + (f"Not measured: {missing}. " if missing else "")
        + f"Source: `{source}`."
    )


# (harness method, peer tool computing the same thing): the hash end-to-end target's pairs.
HASH_PEERS = (("phash", "immaculate phash"), ("pdq", "immaculate pdq"), ("pdq_dihedral", "immaculate pdq"))


def field_targets(ok: pd.DataFrame) -> str:
    """The issue's speed targets as ratios from one run: hash methods end to end against Immaculate
    (at most 1.5x its time), the best descriptor's images per second (at least 25), peak memory."""
    first = ok.drop_duplicates("method").set_index("method")
    parts = []
    for mine, theirs in HASH_PEERS:
        if mine in first.index and theirs in first.index:
            ratio = first.at[mine, "total_s"] / first.at[theirs, "total_s"]
            parts.append(
                f"{mine} {first.at[mine, 'total_s']:.2f} s / {theirs} {first.at[theirs, 'total_s']:.2f} s = "
                f"{ratio:.2f}x ({'met' if ratio <= 1.5 else 'missed'}: at most 1.5x)"
            )
    methods = first[first["kind"] == "method"]
    if not methods.empty:
        ranked = methods.sort_values(["recall_at_p99", "pair_ap"], ascending=False)
        best = ranked.index[0]
        rate = methods.at[best, "images_per_s"]
        parts.append(
            f"best descriptor {best} (recall {methods.at[best, 'recall_at_p99']:.3f} at precision 0.99) "
            f"{rate:.0f} images/s ({'met' if rate >= 25 else 'missed'}: at least 25)"
        )
        fast = ranked[ranked["images_per_s"] >= 25]
        if rate < 25 and not fast.empty:
            name = fast.index[0]
            parts.append(
                f"the best that meets it: {name} (recall {fast.at[name, 'recall_at_p99']:.3f}) "
                f"{fast.at[name, 'images_per_s']:.0f} images/s"
            )
        peak = methods["peak_rss_mib"].max()
        parts.append(f"largest peak {peak:.0f} MiB ({'met' if peak < 2048 else 'missed'}: under 2 GiB)")
    return "; ".join(parts)


def pair_cell(row: pd.Series | None) -> str:
    if row is None or pd.isna(row.get("recall")) and pd.isna(row.get("precision")):
        return ""
    precision = "-" if pd.isna(row["precision"]) else f"{row['precision']:.3f}"
    return f"{precision} / {row['recall']:.3f}" if not pd.isna(row["recall"]) else precision


def render_kinds(table: pd.DataFrame, source: str) -> str:
    """Per method (its chosen rule) and per peer (its default): pairwise precision / recall of its
    groups on each kind's scored half, the distinct images it grouped where nothing is a duplicate,
    the worst precision when its threshold was fitted without that kind, and whether it held."""
    ok = table[table["status"].astype(str) == "ok"]
    if ok.empty:
        return f"No finished rows yet. Source: `{source}`."
    kinds = list(dict.fromkeys(ok["data"].dropna()))
    methods = ok[(ok["tool"] == "method") & ok["chosen"].fillna(False).astype(bool)]
    peers = ok[ok["tool"].isin(["finder", "peer"])]  # a rule of dupbench find run as a peer, then the tools
    head = ["method", "rule (chosen)", "threshold", *[f"{k}: P / R" for k in kinds]]
    head += ["distinct images grouped", "left-out kind: worst P", "held 0.99 everywhere"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ranked = []
    for _, part in methods.groupby("method", sort=False):
        fitted = part[part["fit"] == "all kinds"].set_index("data")
        loko = part[part["fit"].str.startswith("without")]
        first = fitted.iloc[0]
        grouped = int(fitted["nodup_images_grouped"].fillna(0).sum())
        distinct = int(fitted["nodup_images"].fillna(0).sum())
        worst = loko["precision"].min()
        rule = f"{first['grouping']}{', local' if first['normalise'] == 'local' else ''}"
        cells = [
            str(first["label"]),
            rule,
            "" if pd.isna(first["threshold"]) else f"{first['threshold']:.4g}",
            *[pair_cell(fitted.loc[k] if k in fitted.index else None) for k in kinds],
            f"{grouped} of {distinct}",
            "" if pd.isna(worst) else f"{worst:.3f}",
            "yes" if bool(first["held_everywhere"]) else "no",
        ]
        ranked.append((bool(first["held_everywhere"]), float(first["mean_recall"]), cells))
    for _, _, cells in sorted(ranked, key=lambda r: (not r[0], -r[1])):
        lines.append("| " + " | ".join(cells) + " |")
    for name, part in peers.groupby("method", sort=False):
        by_kind = part.set_index("data")
        grouped = int(part["nodup_images_grouped"].fillna(0).sum())
        finder = part["tool"].iloc[0] == "finder"
        cells = [
            name if finder else f"{name} (tool)",
            str(part["threshold_source"].iloc[0]) if finder else "its default",
            "",
            *[pair_cell(by_kind.loc[k] if k in by_kind.index else None) for k in kinds],
            f"{grouped}",
            "",
            "yes" if part["held"].fillna(False).astype(bool).all() and len(part) == len(kinds) else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    skipped = table[(table["status"].astype(str) != "ok") & (table["tool"] == "method")]
    notes = "; ".join(f"{r.method}: {r.status}" for r in skipped.drop_duplicates("method").itertuples())
    default = default_method(table)
    picked = (
        f"`dupbench find` ships each method's chosen rule; the one-stage default, what `dupbench find --views` runs, "
        f"is **{default}** (the best mean recall among the methods that held everywhere, encode at least "
        f"{MIN_RATE:g} images a second and can be searched by an index); its default is issue 39's two stages "
        "(the row dupbench find default). "
        if default
        else ""
    )
    return (
        "\n".join(lines)
        + f"\n\n{picked}Pairwise precision / recall of the groups each forms on the scored half of each kind "
        "(a half is a folder of its own); thresholds fitted on the other halves of every kind at once (99 % "
        "precision on "
        "each, at most 10 per 1,000 distinct images grouped); left-out kind: the threshold fitted without that "
        "kind, scored on it; '-': no pair found. Peers at their own defaults on the same halves, and a rule of "
        "`dupbench find` run as they are (its whole process, cold). "
        + (f"Not measured: {notes}. " if notes else "")
        + f"Measured {dates(table)}, commit {commits(table)}. "
        f"Source: `{source}`."
    )
