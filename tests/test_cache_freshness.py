"""The finder's cache never answers for a file that changed: a file edited the ordinary way (new bytes,
new mtime) is read again and its group follows its new content, while an unchanged file's features
come from the cache (issue 42, point 4: the only freshness test passed by either of two branches)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

from PIL import Image

from dupbench.finder.cli import main
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "embedded"
PHASH = ["--method", "phash", "--threshold", "12", "--quiet"]


def find(folder: Path, cache: Path, out: Path) -> dict:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["find", str(folder), *PHASH, "--cache", str(cache), "--json", str(out)])
    assert code in (0, 1), err.getvalue()
    return json.loads(out.read_text())


def groups(answer: dict) -> list[list[str]]:
    return sorted(sorted(Path(m["path"]).name for m in g["members"]) for g in answer["groups"])


def test_a_file_edited_normally_is_read_again_and_its_group_follows_it(tmp_path):
    ensure_embedded(EMBEDDED)
    folder, cache = tmp_path / "photos", tmp_path / "cache.sqlite"
    folder.mkdir()
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / "a.png")
    shutil.copy(EMBEDDED / "coins" / "0_original.png", folder / "b.png")
    first = find(folder, cache, tmp_path / "1.json")
    assert groups(first) == [] and first["encoded"] == 2

    with Image.open(folder / "a.png") as rocket:  # b.png becomes the rocket, saved as an editor would
        rocket.convert("RGB").save(folder / "b.png", optimize=True)
    second = find(folder, cache, tmp_path / "2.json")
    assert groups(second) == [["a.png", "b.png"]]
    assert (second["encoded"], second["from_cache"]) == (1, 1)  # b.png read again, a.png from the cache

    shutil.copyfile(EMBEDDED / "coins" / "0_original.png", folder / "b.png")  # and back to the coins
    third = find(folder, cache, tmp_path / "3.json")
    assert groups(third) == []
