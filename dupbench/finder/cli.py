"""The `dupbench` command: `dupbench find DIR...` and `dupbench undo MANIFEST`.

Exit codes: 0 no duplicates found, 1 duplicates found, 2 an error (one line on stderr).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from dupbench.errors import DupbenchError

# Nothing heavier at the top: a hash run's worker processes import this module (it is their __main__)
# in the fork server, and the finder's own modules (numpy, OpenCV, sqlite) are no use to them.

FOUND, NONE, ERROR = 1, 0, 2


def find_epilog() -> str:
    """`dupbench find --help`'s epilog, from the shipped thresholds read once (a line when they are absent):
    the default and what it held, each offered method's rule, the methods that can run here."""
    from dupbench.finder.recommend import methods_here, shipped

    try:
        table = shipped()
    except DupbenchError as missing:
        return f"{missing}\n\n{methods_here()}"
    return f"{default_epilog(table)}\n\n{rules_epilog(table)}\n\n{methods_here()}"


def rule_words(entry: dict) -> str:
    background = ", scores less the folder background" if entry.get("normalise") == "local" else ""
    return f"{entry.get('grouping', 'components')} groups{background}, threshold {entry['threshold']:g}"


def default_epilog(table: dict) -> str:
    """What the default and --views are, and what each held."""
    from dupbench.finder.recommend import TWO_STAGES

    (name, threshold), (stand_in, its_threshold) = TWO_STAGES[:2]
    entry = table["methods"][table["default"]]
    return (
        f"Default: the two stages, candidates by {name} at {threshold} ({stand_in} at {its_threshold} where {name} "
        f"is not installed) in components, each pair verified: {VERIFIED_FIGURES}. On ukbench800's other views "
        "of one object it finds none (recall 0.000): they are not copies.\n"
        f"--views: --method {table['default']}, {rule_words(entry)}. {entry.get('summary', '')}"
    )


def rules_epilog(table: dict) -> str:
    """Each offered method's shipped rule and its recall by kind, and why a calibrated threshold misses copies."""
    lines = [
        "Calibrated rules of the methods offered, with their recall by kind (the kinds benchmark's scored halves;"
        " photos are other views of one object, products turns of one fruit):"
    ]
    for name in table.get("offered", []):
        entry = table["methods"][name]
        recall = ", ".join(f"{kind} {value:.2f}" for kind, value in sorted(entry.get("recall", {}).items()))
        lines.append(f"  {name}: {rule_words(entry)}; {recall}")
    lines.append(
        "A calibrated threshold keeps every kind's look-alikes apart (another page of a template, another chart "
        "of a style), so where they crowd a kind it misses that kind's re-saved copies too (phash's 0 groups "
        "identical hashes only). With any method, a loose threshold and --verify find them, the verification "
        "telling a copy from a look-alike, as the default does: --threshold VALUE --normalise none --grouping "
        "components --verify (on the person's folder, report half, precision 1.000 on every kind; recall by kind "
        "with phash at 24 0.75-0.97, pdq at 96 0.74-0.94: every re-saved, converted, resized and grayscale copy "
        "found, while a hash misses border crops of 10-20 %, 0-0.75 a kind at 20 %, which it does not see as near)."
    )
    return "\n".join(lines)


# Measured by experiments/tools/copies_bench.py (variants default and views) on its person's folder, report half,
# at 1ef1ea5; docs/verify.md has every kind and copy type.
VERIFIED_FIGURES = (
    "on a person's folder of 960 images (photos, documents, screens, charts, products, with the copies people keep "
    "and bursts), report half, precision 1.000 on every kind and recall 0.97-1.00 by kind, where --views finds "
    "0.020-0.042 (byte copies and identical pixels); on a folder of look-alikes (invoices of one template that "
    "differ in one amount, screens in one setting, charts in one point), precision 1.000 with every copy found"
)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def shown(path: object) -> str:
    """A path as the terminal shows it: control characters escaped (a file name cannot rewrite the screen)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


# Where a spreadsheet starts reading a formula (OWASP's CSV injection): a cell's start, and the start of
# each line inside it (a CR or LF in a file name: some spreadsheets split the row there).
FORMULA_START = re.compile(r"(?:^|(?<=[\r\n]))(?=[=+\-@\t\r])")


def cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula: a `'` before = + - @ TAB or CR where a cell or a
    line inside it starts (the writer quotes every text cell). The path then reads with that `'` in it:
    only a hostile name's, never an absolute path's (it starts with /)."""
    return FORMULA_START.sub("'", value) if isinstance(value, str) else value


class UntilReaderLeaves:
    """A stream written until its reader leaves (`dupbench find ... | head`): what comes after is dropped
    and the run goes on to its end (its files written, its moves made), its exit code the answer's (0 none
    found, 1 found): the answer was found, whoever read it. A closed pipe used to stop the run wherever
    the pipe's buffer happened to fill, and exit 1 ("found") whatever the answer."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.left = stream, False

    def write(self, text: str) -> int:
        self.until_left(self.stream.write, text)
        return len(text)

    def flush(self) -> None:
        self.until_left(self.stream.flush)

    def until_left(self, action: Any, *args: Any) -> None:
        if self.left:
            return
        try:
            action(*args)
        except BrokenPipeError:  # what the stream still holds fails again at exit, where command() lets it be
            self.left = True

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding: the stream's own
        return getattr(self.stream, name)


class OneLineParser(argparse.ArgumentParser):
    """A bad option is one line and exit 2, as every other error (`--help` shows the usage)."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(ERROR)

    def format_help(self) -> str:
        """An epilog given as a function is written when help is asked for: the methods' list imports
        every method family (0.1 s), which a run does not need."""
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(prog="dupbench", description="Find duplicate and near-duplicate images.")
    commands = top.add_subparsers(dest="command", required=True)
    find = find_parser(commands)
    review_parser(commands, find)
    undo = commands.add_parser("undo", help="put back the files a --move-to run moved")
    undo.add_argument("manifest", type=Path)
    return top


VERIFY_HELP = (
    "verify each candidate pair of the rule given (--method, --threshold, ...) as the default does: each image's "
    "8 nearest in its near group, its 32 nearest when none of those passed, then the 8 verified groups nearest to "
    "an image still alone, then the 8 images nearest to what a window it shows holds, by local features and an "
    "aligned pixel comparison (dupbench/verify.py); groups are the verified links'. Without a rule given it is the "
    "default"
)
VIEWS_HELP = (
    "find other views of one object too (another shot of the same thing), not copies only: the calibrated "
    "one-stage rule, sscd_distilled in community groups on scores less the folder background, no verification "
    "(the default before issue 39). On ukbench800 (4 views of each of 200 objects) precision 1.000, recall 0.953 "
    "where the default's is 0.000; but it misses the copies people keep where look-alikes crowd them or a burst "
    "is their background (a person's folder: recall 0.020-0.042 by kind, against the default's 0.97-1.00)"
)
DEFAULT_HELP = (
    "Default: issue 39's two stages. Candidates: each image's nearest by distilled SSCD, cosine 0.5 or more, "
    "without the folder background (a burst is its own background); then each candidate pair is verified by local "
    "features and an aligned pixel comparison (--verify's help), and groups are the verified links'. A copy "
    "(re-saved, converted, resized, cropped, shown in a window, grayscale, with a caption or watermark added) "
    "passes; a look-alike that differs in a detail (another invoice of one template, another chart of one style) "
    "does not. It finds copies, not other views of one object: --views finds those."
)


def find_parser(commands) -> argparse.ArgumentParser:
    from dupbench.finder.find import KEEP_RULES
    from dupbench.grouping import GROUPINGS, NORMALISATIONS

    find = commands.add_parser(
        "find",
        help="duplicate groups in folders",
        description="Exact duplicates (identical bytes or pixels), then near duplicates, grouped so that they "
        "cannot chain; each group with the copy it keeps (--keep). " + DEFAULT_HELP,
        epilog=find_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    find.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    find.add_argument(
        "--method", default=None, help="any registered method, in one stage (its calibrated rule) unless --verify"
    )
    find.add_argument(
        "--threshold", default="calibrated", help="'calibrated' (the field benchmark's, shipped) or a number"
    )
    find.add_argument(
        "--grouping", choices=GROUPINGS, default=None, help="with --threshold VALUE: how links become groups"
    )
    find.add_argument(
        "--normalise",
        choices=NORMALISATIONS,
        default=None,
        help="with --threshold VALUE: 'local' subtracts each image's background (its 10th neighbour's score)",
    )
    find.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="SQLite cache file (default: one per set of folders in the user's cache folder)",
    )
    find.add_argument("--json", metavar="FILE", help="groups and pairs as JSON ('-': stdout)")
    find.add_argument("--csv", type=Path, metavar="DIR", help="groups.csv and pairs.csv in DIR")
    find.add_argument("--html", type=Path, metavar="DIR", help="a self-contained report, DIR/index.html")
    find.add_argument("--query", nargs="+", type=Path, metavar="IMG", help="the nearest images of the folders to each")
    find.add_argument("--top", type=positive, default=5, help="matches per query (default 5)")
    find.add_argument("--move-to", type=Path, metavar="DIR", help="move all but each group's kept copy here")
    find.add_argument(
        "--keep",
        choices=KEEP_RULES,
        default="first-folder",
        help="which copy a group keeps: one in the first folder given, then the most pixels (default), or "
        "the most pixels wherever it is",
    )
    find.add_argument("--dry-run", action="store_true", help="with --move-to: show what would move, move nothing")
    find.add_argument("--workers", type=positive, default=None, help="decode threads (default: one per core)")
    find.add_argument("--quiet", action="store_true", help="no progress bars")
    find.add_argument("--verify", action="store_true", help=VERIFY_HELP)
    find.add_argument("--views", action="store_true", help=VIEWS_HELP)
    return find


def review_parser(commands, find: argparse.ArgumentParser) -> None:
    review = commands.add_parser(
        "review",
        help="the groups in a browser: choose what each keeps, apply with undo",
        description="Runs the find (as `find`, its cache makes a second run quick) and serves a page on 127.0.0.1 "
        "(a random port, a random token in its URL) where a person chooses each group's kept copy, unmarks a copy, "
        "or marks a group 'not duplicates' (remembered: not shown again), then applies: the chosen copies are moved "
        "as --move-to moves them (never deleted), and `dupbench undo MANIFEST` puts them back.",
    )
    review.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    shared = {"method", "threshold", "grouping", "normalise", "verify", "views", "cache", "keep", "workers", "quiet"}
    for action in find._actions:
        if action.dest in shared:
            review._add_action(action)
    review.add_argument(
        "--move-to", type=Path, metavar="DIR", help="where chosen copies go (default: 'DIR - duplicates moved by "
        "dupbench' beside the first folder)"
    )  # fmt: skip
    review.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: one the system picks)")
    review.add_argument("--open", action="store_true", help="open the page in a browser (default: when there is one)")


def as_json(found, queries: list | None) -> dict:
    photos = found.photos
    return {
        "tool": "dupbench",
        "method": found.choice.name,
        "threshold": found.choice.threshold,
        "grouping": found.choice.rule.grouping,
        "normalise": found.choice.rule.normalise,
        "verified": found.choice.verify,
        "threshold_source": found.choice.threshold_source,
        "images": len(photos),
        "encoded": found.encoded,
        "from_cache": found.from_cache,
        "seconds": found.seconds,
        "groups": [
            {
                "group": number,
                "kind": group.kind,
                "best": str(photos[group.best].path),
                "kept_because": group.why,
                "members": [
                    {
                        "path": str(photos[i].path),
                        "width": photos[i].width,
                        "height": photos[i].height,
                        "bytes": photos[i].size,
                        "score_to_best": None if i == group.best else group.scores.get(i),
                        "identical_pixels_in_group": i in group.exact,
                    }
                    for i in group.members
                ],
            }
            for number, group in enumerate(found.groups, start=1)
        ],
        "pairs": [
            {"a": str(photos[a].path), "b": str(photos[b].path), "score": score, "kind": kind}
            for a, b, score, kind in found.pairs
        ],
        "skipped": [{"path": path, "reason": why} for path, why in found.skipped],
        **({"queries": queries} if queries is not None else {}),
    }


def json_text(answer: dict) -> str:
    """The answer as JSON, one group, pair or skip per line: readable, and written by json's C encoder
    (indent makes json encode in Python: 0.8 s for 11,000 groups)."""

    def value(item: Any) -> str:
        if isinstance(item, list) and item:
            return "[\n  " + ",\n  ".join(json.dumps(entry) for entry in item) + "\n ]"
        return json.dumps(item)

    return "{\n" + ",\n".join(f" {json.dumps(key)}: {value(item)}" for key, item in answer.items()) + "\n}"


def write_csvs(answer: dict, folder: Path) -> None:
    from dupbench.files import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    # Every text cell quoted: with LF line ends, csv quotes a cell holding LF but not one holding only a
    # CR, which a spreadsheet takes for the row's end.
    groups = io.StringIO()
    writer = csv.writer(groups, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(["group", "kind", "path", "best", "width", "height", "bytes", "score_to_best", "identical"])
    for group in answer["groups"]:
        for m in group["members"]:
            writer.writerow(
                [group["group"], group["kind"], cell(m["path"]), m["path"] == group["best"], m["width"], m["height"],
                 m["bytes"], "" if m["score_to_best"] is None else m["score_to_best"],
                 m["identical_pixels_in_group"]]
            )  # fmt: skip
    atomic_write_text(folder / "groups.csv", groups.getvalue())
    pairs = io.StringIO()
    writer = csv.writer(pairs, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(["a", "b", "score", "kind"])
    writer.writerows([cell(p["a"]), cell(p["b"]), p["score"], p["kind"]] for p in answer["pairs"])
    atomic_write_text(folder / "pairs.csv", pairs.getvalue())


def summary(found, out) -> None:
    photos = found.photos
    if not photos:
        print(f"no images in {', '.join(shown(f) for f in found.folders)} ({len(found.skipped)} skipped)", file=out)
        return
    exact = sum(g.kind == "exact" for g in found.groups)
    identical = sum(len(g.exact) for g in found.groups)
    extra = sum(len(g.members) - 1 for g in found.groups)
    print(
        f"{len(photos)} images: {len(found.groups)} duplicate groups ({exact} exact, "
        f"{len(found.groups) - exact} near), {extra} copies beside their best ({identical} images with an "
        f"identical-pixels twin); method {found.choice.name} at {found.choice.threshold:g} "
        f"({found.choice.threshold_source}); encoded {found.encoded}, from the cache {found.from_cache}; "
        f"{len(found.skipped)} skipped",
        file=out,
    )
    for number, group in enumerate(found.groups[:20], start=1):
        print(
            f"group {number} ({group.kind}, {len(group.members)}): keep {shown(photos[group.best].path)} ({group.why})",
            file=out,
        )
        for i in group.members:
            if i != group.best:
                twin = "  identical pixels" if i in group.exact and group.best in group.exact else ""
                print(f"    {shown(photos[i].path)}  score {group.scores.get(i, float('nan')):.4g}{twin}", file=out)
    if len(found.groups) > 20:
        print(f"... and {len(found.groups) - 20} more groups (--json, --csv or --html for all)", file=out)


def check_outputs(args) -> None:
    """An output path of the wrong kind is one line before any work."""
    if args.json and args.json != "-" and Path(args.json).is_dir():
        raise DupbenchError(f"--json {args.json}: a folder; give a file name")
    for option, path in (("--csv", args.csv), ("--html", args.html), ("--move-to", args.move_to)):
        if path is not None and path.exists() and not path.is_dir():
            raise DupbenchError(f"{option} {path}: a file; give a folder")


def check_query(path: Path, choice) -> None:
    """A query image that cannot be used is one line naming it, before the scan: decoded as the query will
    be (a few images), not found out after the whole scan in a message naming Pillow's in-memory copy."""
    from PIL import UnidentifiedImageError

    from dupbench.errors import UnreadableImage
    from dupbench.images.decode import decode

    if not path.is_file():
        raise DupbenchError(f"--query {path}: {'a folder, not an image' if path.is_dir() else 'no such file'}")
    try:
        decode(path.read_bytes(), choice.decode)
    except UnreadableImage as problem:
        unknown = isinstance(problem.__context__, UnidentifiedImageError)  # its message names the BytesIO
        why = "not an image format Pillow recognises" if unknown else problem
        raise DupbenchError(f"--query {path}: {why}") from None


def run_find(args) -> int:
    from dupbench.finder.find import default_cache, find_with_options, query
    from dupbench.finder.recommend import chosen

    if args.dry_run and not args.move_to:
        raise DupbenchError("--dry-run goes with --move-to DIR")
    check_outputs(args)
    choice = chosen(args)
    for path in args.query or []:
        check_query(path, choice)
    found = find_with_options(args, choice, [args.move_to] if args.move_to else [])
    from dupbench.finder.marks import leave_out_not_duplicates

    # Groups a person marked "not duplicates" in `dupbench review` are left out of every output, and said so.
    left_out = leave_out_not_duplicates(found, args.cache or default_cache(args.folders))
    queries = query(choice, found, args.query, args.top) if args.query else None
    answer = {**as_json(found, queries), "left_out_not_duplicates": left_out}
    out = sys.stderr if args.json == "-" else sys.stdout
    summary(found, out)
    if left_out:
        print(f"{left_out} groups marked not duplicates (dupbench review) left out", file=out)
    show_queries(queries or [], out)
    write_outputs(args, found, answer, out)
    if args.move_to:
        act(args, found, out)
    return FOUND if found.groups else NONE


def show_queries(queries: list[dict], out) -> None:
    for item in queries:
        print(f"query {shown(item['query'])}:", file=out)
        for match in item["matches"]:
            print(
                f"    {match['score']:.4g}  {shown(match['path'])}{'  (duplicate)' if match['duplicate'] else ''}",
                file=out,
            )


def write_outputs(args, found, answer: dict, out) -> None:
    """--json, --csv and --html."""
    from dupbench.files import atomic_write_text

    if args.json:
        text = json_text(answer)
        if args.json == "-":
            print(text)
        else:
            atomic_write_text(Path(args.json), text + "\n")
    if args.csv:
        write_csvs(answer, args.csv)
    if args.html:
        from dupbench.finder.html import write

        print(f"report: {shown(write(found, args.html, args.keep))}", file=out)


def act(args, found, out) -> None:
    """--move-to: what would move (--dry-run), or the moves, with the undo command."""
    from dupbench.finder.moves import move, plan

    if args.dry_run:
        for entry in plan(found, args.move_to):
            if entry.get("skipped"):
                print(f"would not move {shown(entry['from'])}: {shown(entry['skipped'])}", file=out)
            else:
                print(f"would move {shown(entry['from'])} -> {shown(entry['to'])}", file=out)
        return
    begun: list[Path] = []
    try:
        manifest, moves = move(found, args.move_to, started=begun.append)
    except BaseException:  # Ctrl-C, a full disk, a vanished folder: what moved can still go back
        if begun:
            say_how_to_undo(begun[0])
        raise
    for entry in moves:
        if entry.get("skipped"):
            print(f"not moved: {shown(entry['from'])}: {shown(entry['skipped'])}", file=out)
    done = sum(bool(entry["done"]) for entry in moves)
    print(f"moved {done} files; to put them back: {undo_command(manifest)}", file=out)


def undo_command(manifest: Path) -> str:
    """The undo command as the terminal shows it: control characters escaped."""
    from dupbench.finder import moves

    return shown(moves.undo_command(manifest))


def say_how_to_undo(manifest: Path) -> None:
    """After a move that stopped: how many files it moved and the undo command, whenever it moved any."""
    from dupbench.finder.moves import read_manifest

    try:
        moved = sum(bool(entry.get("intended")) for entry in read_manifest(manifest))
    except DupbenchError:
        moved = 1  # unreadable now: say it all the same
    if moved:
        print(f"stopped after moving {moved} files; to put them back: {undo_command(manifest)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The command's exit code; what it prints goes out until its reader leaves (UntilReaderLeaves)."""
    with (
        contextlib.redirect_stdout(UntilReaderLeaves(sys.stdout)),
        contextlib.redirect_stderr(UntilReaderLeaves(sys.stderr)),
    ):
        return run_command(parser().parse_args(argv))


def run_command(args) -> int:
    try:
        if args.command == "undo":
            from dupbench.finder.moves import undo

            restored, beside, problems = undo(args.manifest)
            if restored:  # a second undo has nothing to do and says nothing
                print(f"restored {restored} files")
            for line in beside:  # nothing overwritten: the person decides which to keep
                print(f"restored beside: {shown(line)}", file=sys.stderr)
            for line in problems:
                print(f"not restored: {shown(line)}", file=sys.stderr)
            return ERROR if problems or beside else NONE
        if args.command == "review":
            from dupbench.finder.review import run_review

            return run_review(args, shown)
        from dupbench.finder.find import cycle_collector_paused

        # Paused to the end: the answer's 100,000s of dicts would set the collector going over everything.
        return cycle_collector_paused(run_find)(args)
    except DupbenchError as problem:
        print(f"error: {shown(problem)}", file=sys.stderr)
        return ERROR
    except KeyboardInterrupt:
        print("interrupted: what was encoded is kept in the cache; run again to go on", file=sys.stderr)
        return 130
    except OSError as problem:  # a file or folder the system refused: name it
        said = f"{problem.filename or ''}: {problem.strerror or problem}".removeprefix(": ")
        print(f"error: {shown(said)}", file=sys.stderr)
        return ERROR
    except Exception as problem:  # a bug: still one line and exit 2, never "found" after a crash
        print(f"error: internal error, please report: {type(problem).__name__}: {shown(problem)}", file=sys.stderr)
        return ERROR


def command() -> NoReturn:
    """The `dupbench` command: main(), its output flushed and the atexit handlers run, then out without
    the interpreter's teardown. That teardown frees every object of the run one by one, after a full
    cycle collection over them: 0.05-0.09 s of a 1.5 s run on 10,000 images, and nothing in it is
    needed once main() has returned (its files are closed, the cache committed and closed, its worker
    pools shut down). mypy's command leaves the same way."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that left (`| head`), or a stream main() closed
            pass
    atexit._run_exitfuncs()  # what sys.exit would run: multiprocessing's own clean-up among them
    os._exit(code)


if __name__ == "__main__":
    command()
