"""What `dupbench find` writes and prints, with hostile file names (issue 38, points 5, 11, 13, 14): CSV
cells a spreadsheet would run as formulas, HTML built from names, escape codes reaching the terminal,
a reader that leaves the pipe, a 255-byte output name, a query that is not an image, the kept copy's
rule as the report states it. In-process through dupbench.finder.cli.main, but for the closed pipe
(a real process)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from dupbench.finder.cli import cell, main
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "embedded"
PHASH = ["--method", "phash", "--threshold", "12", "--quiet"]
# Where a spreadsheet reads a formula: a cell or a line inside it starting with one of these (OWASP).
FORMULA = ("=", "+", "-", "@", "\t", "\r")
TAG, SPLIT = "<b>'x.png", "x\r=1+2.jpg"  # HTML in a name; a CR that ends a spreadsheet's row, then a formula
ESCAPES = "\x1b[31m\n"  # turns a terminal red, then breaks the line


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def rocket() -> Path:
    ensure_embedded(EMBEDDED)
    return EMBEDDED / "rocket" / "0_original.png"


@pytest.fixture
def hostile(tmp_path, monkeypatch) -> Path:
    """A folder `=cmd`, scanned as the relative path `=cmd` (every path starts with `=`), holding one
    group: `<b>'x.png`, its byte copy `x\\n@SUM(1).png` and a JPEG of it named `x\\r=1+2.jpg`."""
    folder = tmp_path / "=cmd"
    folder.mkdir()
    shutil.copy(rocket(), folder / TAG)
    shutil.copy(rocket(), folder / "x\n@SUM(1).png")
    Image.open(rocket()).convert("RGB").save(folder / SPLIT, quality=90)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lines_starting_a_formula(table: Path) -> tuple[list[list[str]], list[str]]:
    """The rows as a spreadsheet reads them (csv), and every line of a cell that starts a formula."""
    with open(table, newline="") as f:
        rows = list(csv.reader(f))
    return rows, [line for row in rows for c in row for line in re.split(r"\r\n|\r|\n", c) if line.startswith(FORMULA)]


def test_csv_cells_never_start_a_formula_not_even_after_a_line_break_in_a_name(hostile):
    code, _, err = run("find", "=cmd", *PHASH, "--csv", "out")
    assert code == 1, err
    groups, formulas = lines_starting_a_formula(hostile / "out" / "groups.csv")
    assert formulas == []
    # The CR and LF inside names are quoted: one row per image, each of 9 cells.
    assert len(groups) == 4 and {len(row) for row in groups} == {9}
    assert {row[2] for row in groups[1:]} == {f"'=cmd/{TAG}", "'=cmd/x\n'@SUM(1).png", "'=cmd/x\r'=1+2.jpg"}
    pairs, formulas = lines_starting_a_formula(hostile / "out" / "pairs.csv")
    assert formulas == [] and len(pairs) == 4 and {len(row) for row in pairs} == {4}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r'=1+2"),
        ("x\r=1+2", "x\r'=1+2"),
        ("x\r\n@A1", "x\r\n'@A1"),
        ("x\r\r-1", "x\r'\r'-1"),
        ("/home/=x.png", "/home/=x.png"),
        (7, 7),
    ],
)
def test_cell_neutralises_each_place_a_formula_could_start(value, written):
    assert cell(value) == written


def test_html_report_never_holds_a_file_name_unescaped(hostile):
    code, _, err = run("find", "=cmd", *PHASH, "--html", "report")
    assert code == 1, err
    page = (hostile / "report" / "index.html").read_text()
    assert TAG not in page
    assert page.count("&lt;b&gt;&#x27;x.png") == 2  # the figure's data-path and its caption


def test_paths_reach_the_terminal_with_escape_codes_and_newlines_escaped(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(rocket(), folder / "a.png")  # kept (the first path of two equals)
    shutil.copy(rocket(), folder / f"b{ESCAPES}.png")  # moved
    query = tmp_path / f"q{ESCAPES}.png"
    shutil.copy(rocket(), query)
    target, report = tmp_path / f"moved{ESCAPES}", tmp_path / f"report{ESCAPES}"
    code, out, err = run(
        "find", str(folder), *PHASH, "--query", str(query), "--html", str(report), "--move-to", str(target), "--dry-run"
    )
    assert code == 1, err
    assert "\x1b" not in out + err
    escaped = "\\x1b[31m\\n"
    said = {line.split(" ")[0]: line for line in out.splitlines()}
    assert said["query"] == f"query {str(query).replace(ESCAPES, escaped)}:"
    assert said["report:"] == f"report: {str(report).replace(ESCAPES, escaped)}/index.html"
    moved_to = f"{str(target).replace(ESCAPES, escaped)}/f/b{escaped}.png"
    assert said["would"] == f"would move {folder}/b{escaped}.png -> {moved_to}"

    code, out, err = run("find", str(folder), *PHASH, "--move-to", str(target))
    manifest = json.loads(next(target.glob("dupbench-moves-*.json")).read_text())
    (moved,) = [Path(m["to"]) for m in manifest["moves"]]
    moved.unlink()  # neither at its place nor moved: undo cannot restore it and says which
    code, out, err = run("undo", str(next(target.glob("dupbench-moves-*.json"))))
    assert code == 2 and "\x1b" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"not restored: {folder}/b{escaped}.png") and moved_to in err

    code, out, err = run("find", str(tmp_path / f"nowhere{ESCAPES}"), *PHASH)
    assert code == 2 and err == f"error: {tmp_path}/nowhere{escaped}: no such folder\n"


def closed_pipe_run(folder: Path, *argv: str) -> tuple[int, str]:
    """`dupbench find FOLDER ARGV` whose stdout is a pipe its reader closed before a byte was written
    (`| head -c 0`), its output unbuffered (each print meets the closed pipe, whatever its size)."""
    read, write = os.pipe()
    os.close(read)
    binary = Path(sys.executable).parent / "dupbench"
    with open(folder.parent / "stderr.txt", "w+") as err:
        done = subprocess.run(
            [str(binary), "find", str(folder), *PHASH, *argv],
            stdout=write,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            timeout=300,
        )
        os.close(write)
        err.seek(0)
        return done.returncode, err.read()


def test_a_closed_pipe_keeps_the_answers_exit_code_and_the_run_goes_on(tmp_path):
    lone, pair = tmp_path / "lone", tmp_path / "pair"
    for folder, others in ((lone, ("coins", "camera")), (pair, ("rocket", "rocket"))):
        folder.mkdir()
        for number, name in enumerate(others):
            shutil.copy(rocket().parent.parent / name / "0_original.png", folder / f"{number}.png")
    cache = ["--cache", str(tmp_path / "cache.sqlite")]
    for folder, answer in ((lone, 0), (pair, 1)):
        code, err = closed_pipe_run(folder, *cache, "--json", "-", "--csv", str(tmp_path / f"csv-{answer}"))
        assert code == answer and "Traceback" not in err and "error" not in err, err
        assert "2 images:" in err  # the summary, on stderr with --json -
        assert (tmp_path / f"csv-{answer}" / "groups.csv").is_file()  # the run went on after the reader left
        code, err = closed_pipe_run(folder, *cache)  # the summary itself into the closed pipe
        assert code == answer and err == "", err


def test_json_to_a_name_of_255_bytes_is_written(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(rocket(), folder / "a.png")
    shutil.copy(rocket(), folder / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("j" * 250 + ".json")
    code, _, err = run("find", str(folder), *PHASH, "--json", str(target))
    assert code == 1, err
    assert len(json.loads(target.read_text())["groups"]) == 1
    assert [p.name for p in out.iterdir()] == [target.name]  # no temp file left beside it


def test_a_query_that_is_not_an_image_is_one_line_naming_it_before_the_scan(tmp_path, monkeypatch):
    import dupbench.finder.find as finder

    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(rocket(), folder / "a.png")
    notes = tmp_path / "notes.jpg"
    notes.write_text("a shopping list, not a photo\n")
    monkeypatch.setattr(finder, "find", lambda *a, **k: pytest.fail("scanned before the query was checked"))
    code, out, err = run("find", str(folder), *PHASH, "--query", str(rocket()), str(notes))
    assert code == 2 and out == ""
    assert err == f"error: --query {notes}: not an image format Pillow recognises\n"


def test_the_html_report_states_the_rule_that_chose_the_kept_copy(tmp_path):
    library, backup = tmp_path / "library", tmp_path / "backup"
    library.mkdir()
    backup.mkdir()
    Image.open(rocket()).resize((128, 96)).save(library / "small.png")  # fewer pixels, yet kept by default
    shutil.copy(rocket(), backup / "full.png")
    code, _, err = run("find", str(library), str(backup), *PHASH, "--html", str(tmp_path / "first"))
    assert code == 1, err
    page = (tmp_path / "first" / "index.html").read_text()
    assert "has the most pixels" not in page
    assert f"keeps (green, with why): a copy in the earliest of the folders given (first: {library})" in page
    assert re.search(r"class='best' data-path='[^']*small\.png'.*kept: in the first folder given", page)
    code, _, err = run(
        "find", str(library), str(backup), *PHASH, "--keep", "most-pixels", "--html", str(tmp_path / "most")
    )
    page = (tmp_path / "most" / "index.html").read_text()
    assert "keeps (green, with why): the most pixels, then the largest file." in page and "earliest" not in page
    assert re.search(r"class='best' data-path='[^']*full\.png'", page)
