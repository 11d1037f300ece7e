"""The generated tables of README.md and docs/: each drawn from one committed baseline CSV only.

A block is a baseline (results/baselines/<key>-<dataset>.csv) rendered by the section that declared
it (experiments/reporting/sections.py); a page shows it between `<!-- <baseline stem>:start -->`
and `<!-- <baseline stem>:end -->`. `python -m experiments.tools.blocks` redraws every block
that some page shows; `--promote` first copies the fresh run outputs over the baselines (on
purpose, never implicitly, and only tables measured on committed code).
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dupbench.methods import library_version, method_class, method_names
from experiments.catalog import baselines_of, entries
from experiments.paths import REPO_ROOT
from experiments.provenance import refuse_dirty

README = REPO_ROOT / "README.md"
# Every page whose generated blocks are redrawn: the README and docs/.
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
FIGURES = REPO_ROOT / "docs" / "img"


@dataclass(frozen=True)
class Block:
    path: Path  # the baseline CSV
    render: Callable[[pd.DataFrame, str], str]
    figures: Callable[[Path, Path, Path], list[Path]] | None = None

    def draw(self) -> list[Path]:
        """The block's plots, from its baseline and companions only, into docs/img/<stem>/."""
        if self.figures is None:
            return []
        return self.figures(self.path, self.path.with_suffix(""), FIGURES / self.marker)

    @property
    def marker(self) -> str:
        return self.path.stem

    def text(self) -> str:
        source = str(self.path.relative_to(REPO_ROOT))
        body = self.render(pd.read_csv(self.path), source)
        return f"<!-- {self.marker}:start -->\n{body}\n<!-- {self.marker}:end -->"


@dataclass(frozen=True)
class MethodsBlock:
    """The method table, drawn from the registry: what each method is, its library and version,
    licence, representation and direction."""

    marker: str = "methods"

    def text(self) -> str:

        lines = [
            "| config name | variant | direction | library (version, licence) | one image becomes | what it computes |",
            "|---|---|---|---|---|---|",
        ]
        for name in method_names():
            cls = method_class(name)
            lines.append(
                f"| `{name}` | {cls.variant} | {cls.direction} | {cls.library} {library_version(cls.library)} "
                f"({cls.licence}) | {cls.representation} | {cls.summary} |"
            )
        return f"<!-- {self.marker}:start -->\n" + "\n".join(lines) + f"\n<!-- {self.marker}:end -->"


def blocks() -> list[Block | MethodsBlock]:
    return [
        MethodsBlock(),
        *(
            Block(path, entry.section.render, entry.section.figures)
            for entry in entries()
            for path in baselines_of(entry)
        ),
    ]


def current_block(text: str, marker: str) -> str | None:
    match = re.search(rf"<!-- {re.escape(marker)}:start -->.*?<!-- {re.escape(marker)}:end -->", text, flags=re.S)
    return match.group(0) if match else None


def markers_in(text: str) -> list[str]:
    return re.findall(r"<!-- ([\w.-]+):start -->", text)


def pages_with(marker: str) -> list[Path]:
    return [page for page in PAGES if page.is_file() and f"<!-- {marker}:start -->" in page.read_text()]


def rewrite(write: bool = True) -> tuple[list[str], list[Path]]:
    """Redraw every block that a page shows (the markers redrawn, the pages that changed); one with no
    baseline behind it is left as it is and named (the tests fail on it until the baseline is
    committed). `write=False` only tells which pages are stale."""
    known = {block.marker: block for block in blocks()}
    done, changed = [], []
    for page in PAGES:
        original = text = page.read_text()
        for marker in markers_in(text):
            if marker not in known:
                print(
                    f"{page.relative_to(REPO_ROOT)}: block {marker!r} has no baseline "
                    f"results/baselines/{marker}.csv yet"
                )
                continue
            text = text.replace(current_block(text, marker), known[marker].text())
            if write and isinstance(known[marker], Block) and marker not in done:
                known[marker].draw()
            done.append(marker)
        if text != original:
            changed.append(page)
            if write:
                page.write_text(text)
    return sorted(set(done)), changed


def promote() -> None:
    """Fresh article-engine tables over their baselines (refused for a table from a dirty tree)."""
    for entry in entries():
        if not entry.section.baseline:
            continue
        for engine, fresh in entry.run_tables(REPO_ROOT / "results"):
            if engine != "article":
                continue
            refuse_dirty(fresh)
            target = entry.baseline_for(fresh)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fresh, target)
            print(f"promoted {fresh.relative_to(REPO_ROOT)} -> {target.relative_to(REPO_ROOT)}")
            for name in entry.section.companions:
                if (fresh.parent / name).is_file():
                    entry.companions_of(target).mkdir(exist_ok=True)
                    shutil.copyfile(fresh.parent / name, entry.companions_of(target) / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--promote", action="store_true", help="copy the current results over the baselines first")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the pages that are stale")
    args = parser.parse_args(argv)
    if args.check:
        _, stale = rewrite(write=False)
        for page in stale:
            print(f"stale: {page.relative_to(REPO_ROOT)} (python -m experiments.tools.blocks redraws it)")
        return 1 if stale else 0
    if args.promote:
        promote()
    done, _ = rewrite()
    print(f"blocks redrawn from results/baselines/: {', '.join(done)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
