"""Fetching against a local HTTP server on 127.0.0.1 that this test starts and stops."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest
from PIL import Image

from experiments.data.__main__ import main as data_cli
from experiments.data.fetch import fetch
from experiments.data.loader import Item


class Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    truncate: set[str]  # paths served with a full Content-Length but only half the bytes
    requests: list[tuple[str, str | None]]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        server: Server = self.server  # type: ignore[assignment]
        path = self.path.lstrip("/")
        server.requests.append((path, self.headers.get("Range")))
        if path not in server.files:
            self.send_error(404)
            return
        body = server.files[path]
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if path in server.truncate:
            self.wfile.write(body[start : start + (len(body) - start) // 2])
            server.truncate.discard(path)  # the next request gets the rest
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.files, srv.truncate, srv.requests = {}, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def jpeg_bytes(tmp_path: Path, colour: str) -> bytes:
    path = tmp_path / f"src-{colour}.jpg"
    Image.new("RGB", (64, 48), colour).save(path)
    return path.read_bytes()


def items_for(server: Server, root: Path, tmp_path: Path, names: list[str]) -> list[Item]:
    items = []
    for i, name in enumerate(names):
        data = jpeg_bytes(tmp_path, ["red", "green", "blue", "white"][i % 4]) + bytes(2000 * i)
        server.files[name] = data
        items.append(Item(key=name, path=root / name, group="g", sha256=hashlib.sha256(data).hexdigest()))
    return items


def base_url(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"


def test_fetch_downloads_verifies_and_then_skips_what_is_there(server, tmp_path):
    items = items_for(server, tmp_path / "root", tmp_path, ["a/1.jpg", "a/2.jpg", "b/3.jpg"])
    outcomes = fetch(items, base_url(server))
    assert [o.status for o in outcomes] == ["fetched"] * 3
    assert all(it.path.read_bytes() == server.files[it.key] for it in items)
    server.requests.clear()
    assert [o.status for o in fetch(items, base_url(server))] == ["present"] * 3
    assert server.requests == []  # resumable: nothing downloaded again


def test_a_truncated_response_is_not_installed_and_the_rerun_resumes_with_a_range(server, tmp_path):
    items = items_for(server, tmp_path / "root", tmp_path, ["x.jpg", "y.jpg"])
    server.truncate.add("y.jpg")
    first = fetch(items, base_url(server))
    assert [o.status for o in first] == ["fetched", "failed"]
    assert "truncated" in first[1].detail
    assert not items[1].path.exists()  # never a half image under the real name
    part = items[1].path.with_name("y.jpg.part")
    kept = part.stat().st_size
    assert 0 < kept < len(server.files["y.jpg"])
    server.requests.clear()
    second = fetch(items, base_url(server))
    assert [o.status for o in second] == ["present", "fetched"]
    assert server.requests == [("y.jpg", f"bytes={kept}-")]  # only the missing tail was asked for
    assert items[1].path.read_bytes() == server.files["y.jpg"] and not part.exists()


def test_a_wrong_checksum_is_reported_and_nothing_is_installed(server, tmp_path):
    items = items_for(server, tmp_path / "root", tmp_path, ["ok.jpg", "bad.jpg"])
    server.files["bad.jpg"] = jpeg_bytes(tmp_path, "black")  # not the bytes the manifest names
    outcomes = fetch(items, base_url(server))
    assert [o.status for o in outcomes] == ["fetched", "failed"]
    assert "sha256" in outcomes[1].detail and items[1].sha256 in outcomes[1].detail
    assert not items[1].path.exists() and not items[1].path.with_name("bad.jpg.part").exists()


def test_missing_upstream_file_fails_that_file_only(server, tmp_path):
    items = items_for(server, tmp_path / "root", tmp_path, ["here.jpg", "gone.jpg"])
    del server.files["gone.jpg"]
    assert [(o.status, o.detail[:8]) for o in fetch(items, base_url(server))] == [
        ("fetched", ""),
        ("failed", "HTTP 404"),
    ]


def test_an_unreachable_source_stops_after_the_first_file(tmp_path):
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens on this port any more
    items = [Item(key=f"{i}.jpg", path=tmp_path / f"{i}.jpg", group="g") for i in range(3)]
    outcomes = fetch(items, f"http://127.0.0.1:{port}/", timeout=5)
    assert [o.status for o in outcomes] == ["failed", "not tried", "not tried"]
    assert "cannot reach" in outcomes[0].detail


def test_the_cli_fetches_a_manifest_data_set_from_a_folder(tmp_path, capsys):
    source = tmp_path / "source"
    (source / "g").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(source / "g" / "1.png")
    digest = hashlib.sha256((source / "g" / "1.png").read_bytes()).hexdigest()
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,group,sha256\ng/1.png,g,{digest}\ng/2.png,g,\n")
    args = [
        "fetch",
        "folder",
        f"dataset.root={tmp_path / 'dest'}",
        f"dataset.manifest={manifest}",
        "--from",
        str(source),
    ]
    assert data_cli(args) == 1  # g/2.png is not in the source
    out = capsys.readouterr().out
    assert "1 fetched" in out and "1 failed" in out and str(tmp_path / "dest" / "g" / "2.png") in out
    assert (tmp_path / "dest" / "g" / "1.png").is_file()


def test_a_planted_part_symlink_is_not_followed_out_of_the_data_root(server, tmp_path):
    items = items_for(server, tmp_path / "root", tmp_path, ["a/1.jpg"])
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    part = items[0].path.with_name("1.jpg.part")
    part.parent.mkdir(parents=True)
    part.symlink_to(outside)
    (outcome,) = fetch(items, base_url(server))
    assert outcome.status == "fetched" and outside.read_text() == "precious"
    assert items[0].path.read_bytes() == server.files["a/1.jpg"] and not items[0].path.is_symlink()


@pytest.mark.parametrize("value", ["-1", "0", "inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_one_line(value, capsys):
    with pytest.raises(SystemExit) as stop:
        data_cli(["fetch", "ukbench", "--timeout", value])
    assert stop.value.code == 2 and "--timeout" in capsys.readouterr().err


def cli_fetch_from_a_folder(tmp_path: Path) -> tuple[list[str], Path]:
    """The fetch command's arguments for a one-file manifest (g/1.png) copied from a folder; and the data root."""
    source = tmp_path / "source"
    (source / "g").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(source / "g" / "1.png")
    digest = hashlib.sha256((source / "g" / "1.png").read_bytes()).hexdigest()
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,group,sha256\ng/1.png,g,{digest}\n")
    dest = tmp_path / "dest"
    return ["fetch", "folder", f"dataset.root={dest}", f"dataset.manifest={manifest}", "--from", str(source)], dest


@pytest.mark.parametrize("name", ["1.png.part", "1.png"])
def test_a_folder_where_fetch_writes_a_file_is_refused_in_one_line_and_left_alone(tmp_path, capsys, name):
    args, dest = cli_fetch_from_a_folder(tmp_path)
    folder = dest / "g" / name
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "notes.txt").write_text("mine")
    assert data_cli(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(folder) in err and "folder" in err
    assert (folder / "inner" / "notes.txt").read_text() == "mine"  # nothing inside removed or written over


def test_a_file_where_fetch_needs_a_folder_is_refused_in_one_line_and_left_alone(tmp_path, capsys):
    args, dest = cli_fetch_from_a_folder(tmp_path)
    dest.mkdir()
    (dest / "g").write_text("mine")  # the manifest's g/1.png needs g to be a folder
    assert data_cli(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(dest / "g") in err
    assert (dest / "g").read_text() == "mine"


def test_a_planted_part_symlink_to_a_folder_is_removed_not_followed(server, tmp_path):
    items = items_for(server, tmp_path / "root", tmp_path, ["a/1.jpg"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("precious")
    part = items[0].path.with_name("1.jpg.part")
    part.parent.mkdir(parents=True)
    part.symlink_to(elsewhere, target_is_directory=True)
    (outcome,) = fetch(items, base_url(server))
    assert outcome.status == "fetched" and sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert items[0].path.read_bytes() == server.files["a/1.jpg"] and not part.exists()
