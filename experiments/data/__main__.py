"""`python -m experiments.data check DATASET... [key=value ...]` and
`python -m experiments.data fetch DATASET [--from URL_OR_DIR] [key=value ...]`.

DATASET is a config name from conf/dataset/; key=value are the same overrides as the runner's
(data_root=..., dataset.root=...). `check --staged` checks every data set whose folder is there.
Exit code: 0 all good, 1 a file is missing, wrong or failed to fetch, 2 a usage or setup problem.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from omegaconf import OmegaConf

from dupbench.errors import DupbenchError
from experiments.config import compose_config, group_options
from experiments.data.check import check, listed_items, unlisted_files
from experiments.data.fetch import fetch
from experiments.data.loader import DataMissingError, dataset_root, read_manifest
from experiments.paths import repo_path


def dataset_config(name: str, overrides: list[str]) -> dict[str, Any]:
    cfg = compose_config([f"dataset={name}", *overrides])
    return OmegaConf.to_container(cfg.dataset, resolve=True)  # type: ignore[return-value]


def run_check(names: list[str], overrides: list[str], staged: bool) -> int:
    if staged:
        names = group_options("dataset")
    status = 0
    for name in names:
        cfg = dataset_config(name, overrides)
        try:
            summary, problems = check(cfg)
        except DataMissingError as absent:
            if not staged:
                raise
            print(f"{name}: not staged here ({str(absent).split('. ')[0]}); not checked")
            continue
        except DupbenchError as unusable:
            if not staged or cfg.get("root"):
                raise
            print(f"{name}: {unusable}; not checked")
            continue
        print(summary)
        for problem in problems:
            print(f"  {problem.path}: {problem.what}")
        if cfg.get("manifest"):
            root, items = listed_items(cfg)
            for extra in unlisted_files(root, items):  # reported, not a failure: the listed files are intact
                print(f"  {extra}: not in the manifest (not used)")
        status = max(status, 1 if problems else 0)
    return status


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def run_fetch(name: str, overrides: list[str], origin: str | None, timeout: float) -> int:
    cfg = dataset_config(name, overrides)
    if not cfg.get("manifest") or cfg.get("kind") == "embedded":
        raise DupbenchError(f"data set {name!r} has no manifest of files to fetch. {cfg.get('how_to_get', '')}")
    root = dataset_root(cfg)
    items = read_manifest(repo_path(cfg["manifest"]), root)
    outcomes = fetch(items, origin, timeout)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("fetched", "present", "failed", "not tried")}
    print(
        f"{name}: {len(items)} files into {root}: {counts['fetched']} fetched, {counts['present']} already "
        f"there and verified, {counts['failed']} failed, {counts['not tried']} not tried"
    )
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  {root / outcome.key}: {outcome.detail}")
    return 1 if counts["failed"] or counts["not tried"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="verify files against the manifest")
    checker.add_argument("args", nargs="*", help="DATASET names and key=value overrides")
    checker.add_argument("--staged", action="store_true", help="every data set whose folder is there")
    fetcher = commands.add_parser("fetch", help="copy or download the manifest's files into the data root")
    fetcher.add_argument("args", nargs="+", help="DATASET and key=value overrides")
    fetcher.add_argument("--from", dest="origin", help="a folder or base URL that holds the manifest's paths")
    fetcher.add_argument("--timeout", type=positive_seconds, default=60.0, help="seconds per request")
    args = parser.parse_args(argv)
    names = [a for a in args.args if "=" not in a]
    overrides = [a for a in args.args if "=" in a]
    try:
        if args.command == "check":
            if not names and not args.staged:
                parser.error("name a DATASET or pass --staged")
            return run_check(names, overrides, args.staged)
        if len(names) != 1:
            parser.error("fetch takes one DATASET")
        return run_fetch(names[0], overrides, args.origin, args.timeout)
    except DupbenchError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
