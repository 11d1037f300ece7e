"""`dupbench review DIR...`: the finder's groups in a browser, where a person chooses what each group keeps,
unmarks a copy, or marks a group "not duplicates", then applies it: the chosen copies are moved with the same
write-ahead moves as `--move-to` (never a delete; `dupbench undo MANIFEST` puts them back).

Served on this machine only, to the page that holds the token:
- bound to 127.0.0.1, at a port the system picks; every request's path starts with a random token
  (secrets.token_urlsafe) and its Host header must be 127.0.0.1 or localhost (a web page elsewhere cannot
  reach the server by a name of its own: DNS rebinding); a request without either is refused (403);
- the files served are the find's grouped photos only, by their number, never a path from the request,
  and only where their real place is inside a scanned folder;
- the plan the page sends is checked against the find's groups first: a path that is not in its group, a
  group that is not served, is refused in one line and nothing is moved;
- names reach the page as JSON and are put there as text, never markup (review.js), under a
  Content-Security-Policy that runs no script but the page's own.
"""

from __future__ import annotations

import collections
import http.server
import io
import json
import mimetypes
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dupbench.errors import DupbenchError
from dupbench.features import FeatureCache
from dupbench.finder.html import thumbnail_jpeg
from dupbench.finder.marks import leave_out_not_duplicates
from dupbench.finder.moves import move_chosen, plan_chosen, roots_of, undo_command

HOSTS = {"127.0.0.1", "localhost"}
THUMB = 200
THUMBS_KEPT = 4096  # thumbnails kept in memory (~10 KB each): scrolling back does not decode again
SHOWN_AS_IS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"}  # what any browser shows; others as PNG
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class PlanRefused(DupbenchError):
    """The plan does not match the find's groups: nothing is moved."""


def default_move_to(folders: list[Path]) -> Path:
    """Beside the first folder given, never inside a scanned one (moves.plan refuses that)."""
    first = Path(os.path.abspath(folders[0]))
    return first.parent / f"{first.name} - duplicates moved by dupbench"


def confidence(group, method) -> float:
    """How alike a group's least alike copy is to the kept one (higher: more alike); exact groups first."""
    if group.kind == "exact" or not group.scores:
        return float("inf")
    return float(min(method.goodness(s) for s in group.scores.values()))


class Review:
    """What the server serves: the find's groups, numbered as the page knows them, and what has been applied."""

    def __init__(self, found, cache_path: Path, given: bool, move_to: Path, left_out: int = 0) -> None:
        self.found, self.cache_path, self.given, self.move_to = found, cache_path, given, move_to
        self.token = secrets.token_urlsafe(24)
        self.left_out = left_out
        method = found.choice.method
        order = sorted(range(len(found.groups)), key=lambda n: -confidence(found.groups[n], method))
        self.groups = {number: found.groups[n] for number, n in enumerate(order, start=1)}
        self.grouped = {i for g in self.groups.values() for i in g.members}  # the photos that may be served
        self.real_roots = [root for where in roots_of(found).values() for root in where]
        self.lock = threading.Lock()  # one apply at a time; the groups it took are gone for the next
        self.thumbs: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self.made: bytes | None = None  # groups_json's answer, until an apply
        self.groups_json()

    def servable(self, photo_id: int) -> Path | None:
        """A grouped photo's path, when its real place is inside a scanned folder (never a path the request named)."""
        if photo_id not in self.grouped:
            return None
        path = self.found.photos[photo_id].path
        real = Path(os.path.realpath(path))
        return path if any(real.is_relative_to(root) for root in self.real_roots) and real.is_file() else None

    def payload(self) -> dict:
        found, method = self.found, self.found.choice.method
        from dupbench.finder.html import score_words

        with self.lock:
            groups = list(self.groups.items())
        return {
            "method": found.choice.name,
            "threshold": found.choice.threshold,
            "direction": method.direction,
            "images": len(found.photos),
            "move_to": str(self.move_to),
            "left_out_not_duplicates": self.left_out,
            "groups": [
                {
                    "group": number,
                    "kind": group.kind,
                    "best": group.best,
                    "why": group.why,
                    "members": [self.member(group, i, score_words) for i in group.members],
                }
                for number, group in groups
            ],
        }

    def groups_json(self) -> bytes:
        """The payload as JSON, made once until an apply changes the groups (10,000 groups: ~1.5 s to make,
        made before the URL is printed: the page's first screen does not wait for it)."""
        with self.lock:
            made = self.made
        if made is None:
            made = json.dumps(self.payload()).encode()
            with self.lock:
                self.made = made
        return made

    def member(self, group, i: int, score_words) -> dict:
        photo = self.found.photos[i]
        path = str(photo.path)
        try:
            modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.lstat(path).st_mtime))
        except OSError:
            modified = ""
        folder, name = os.path.split(path)
        return {
            "id": i,
            "path": path,
            "name": name,
            "folder": folder,
            "width": photo.width,
            "height": photo.height,
            "bytes": photo.size,
            "format": os.path.splitext(name)[1].lstrip(".").upper() or "?",
            "modified": modified,
            "score": None if i == group.best else group.scores.get(i),
            "words": "" if i == group.best else score_words(self.found, group, i),
        }

    def thumbnail(self, photo_id: int) -> bytes | None:
        with self.lock:
            if photo_id in self.thumbs:
                self.thumbs.move_to_end(photo_id)
                return self.thumbs[photo_id]
        path = self.servable(photo_id)
        if path is None:
            return None
        data = thumbnail_jpeg(path, THUMB)
        with self.lock:
            self.thumbs[photo_id] = data
            while len(self.thumbs) > THUMBS_KEPT:
                self.thumbs.popitem(last=False)
        return data

    def full(self, photo_id: int) -> tuple[bytes, str] | None:
        path = self.servable(photo_id)
        if path is None:
            return None
        if path.suffix.lower() in SHOWN_AS_IS:
            return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return as_png(path), "image/png"

    def checked(self, plan: Any) -> tuple[list[tuple[int, int, list[int]]], list[int]]:
        """The plan as (group, kept, moved) photo numbers and the groups marked not duplicates, or PlanRefused
        naming the first thing in it that is not in the find's groups (nothing is moved then)."""
        if not isinstance(plan, dict) or not isinstance(plan.get("groups", []), list):
            raise PlanRefused("refused: the plan is not {'groups': [...], 'not_duplicates': [...]}; nothing moved")
        chosen, marked, seen = [], [], set()
        for item in plan.get("groups", []):
            number = item.get("group") if isinstance(item, dict) else None
            group = self.served(number, seen)
            by_path = {str(self.found.photos[i].path): i for i in group.members}
            kept, moved = item.get("kept"), item.get("move", [])
            if not isinstance(moved, list):
                raise PlanRefused(f"refused: group {number}'s 'move' is not a list; nothing moved")
            for path in [kept, *moved]:
                if not isinstance(path, str) or path not in by_path:
                    raise PlanRefused(f"refused: {path!r} is not in group {number} of this review; nothing moved")
            if kept in moved or len(set(moved)) != len(moved):
                raise PlanRefused(f"refused: group {number} moves its kept copy or a file twice; nothing moved")
            if moved:
                chosen.append((number, by_path[kept], [by_path[p] for p in moved]))
        for number in plan.get("not_duplicates", []):
            self.served(number, seen)
            marked.append(number)
        return chosen, marked

    def forget(self, number: int) -> None:
        """A group applied: no longer served, nor its files (a second plan naming it is refused)."""
        self.grouped -= set(self.groups.pop(number).members)
        self.made = None

    def served(self, number: Any, seen: set) -> Any:
        if not isinstance(number, int) or number not in self.groups:
            raise PlanRefused(f"refused: {number!r} is not a group of this review; nothing moved")
        if number in seen:
            raise PlanRefused(f"refused: group {number} is named twice in the plan; nothing moved")
        seen.add(number)
        return self.groups[number]

    def apply(self, plan: Any) -> dict:
        """The plan checked, the groups marked "not duplicates" remembered, the chosen copies moved."""
        with self.lock:
            chosen, marked = self.checked(plan)
            if marked:
                with FeatureCache(self.cache_path, self.given) as cache:
                    for number in marked:
                        cache.mark_not_duplicates(self.found.photos[i].sha256 for i in self.groups[number].members)
            answer: dict[str, Any] = {"not_duplicates": len(marked), "moved": 0, "skipped": [], "undo": ""}
            for number in marked:
                self.forget(number)
            if chosen:
                begun: list[Path] = []
                try:
                    manifest, moves = move_chosen(self.found, self.move_to, chosen, started=begun.append)
                except DupbenchError as problem:
                    said = str(problem)
                    if begun:
                        said += f" (to put back what moved: {undo_command(begun[0])})"
                    raise DupbenchError(said) from None
                for number, _, _ in chosen:
                    self.forget(number)
                answer["moved"] = sum(bool(entry["done"]) for entry in moves)
                answer["skipped"] = [f"{e['from']}: {e['skipped']}" for e in moves if e.get("skipped")]
                answer["manifest"] = str(manifest)
                answer["undo"] = undo_command(manifest)
            return answer


def as_png(path: Path) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        out = io.BytesIO()
        ImageOps.exif_transpose(image).convert("RGB").save(out, format="PNG")
        return out.getvalue()


def page_file(name: str) -> bytes:
    return resources.files("dupbench.finder").joinpath("review", name).read_bytes()


class Handler(http.server.BaseHTTPRequestHandler):
    review: Review  # set on the class a server makes (serve)
    server_version = "dupbench-review"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the person's
        pass

    def allowed(self) -> list[str] | None:
        """The path's parts after the token, or None when the request was refused (403 sent)."""
        host = self.headers.get("Host", "")
        hostname = urlsplit(f"//{host}").hostname or ""
        if hostname not in HOSTS:
            self.refuse(403, f"refused: Host {host!r} is not 127.0.0.1 or localhost")
            return None
        parts = urlsplit(self.path).path.split("/")[1:]
        if not parts or not secrets.compare_digest(parts[0].encode(), self.review.token.encode()):
            self.refuse(403, "refused: no token (open the URL dupbench review printed)")
            return None
        return parts[1:]

    def do_GET(self) -> None:
        parts = self.allowed()
        if parts is None:
            return
        review = self.review
        if parts in ([], [""]):
            return self.send(200, page_file("review.html"), "text/html; charset=utf-8")
        if parts == ["review.js"]:
            return self.send(200, page_file("review.js"), "text/javascript; charset=utf-8")
        if parts == ["review.css"]:
            return self.send(200, page_file("review.css"), "text/css; charset=utf-8")
        if parts == ["groups"]:
            return self.send(200, review.groups_json(), "application/json")
        if len(parts) == 2 and parts[0] in ("thumb", "full") and parts[1].isdigit():
            photo_id = int(parts[1])
            if photo_id < len(review.found.photos):
                if parts[0] == "thumb":
                    data = review.thumbnail(photo_id)
                    if data is not None:
                        return self.send(200, data, "image/jpeg", cache=True)
                else:
                    full = review.full(photo_id)
                    if full is not None:
                        return self.send(200, full[0], full[1], cache=True)
        self.refuse(404, "not found")

    def do_POST(self) -> None:
        parts = self.allowed()
        if parts is None:
            return
        if parts != ["apply"]:
            return self.refuse(404, "not found")
        origin = self.headers.get("Origin")
        if origin is not None and (urlsplit(origin).hostname or "") not in HOSTS:
            return self.refuse(403, f"refused: a request from {origin!r}")
        try:
            length = int(self.headers.get("Content-Length", "0"))
            plan = json.loads(self.rfile.read(min(length, 64 << 20)) or b"null")
        except ValueError:
            return self.refuse(400, "refused: the plan is not JSON; nothing moved")
        try:
            answer = self.review.apply(plan)
        except DupbenchError as problem:
            return self.refuse(400, str(problem))
        self.send(200, json.dumps(answer).encode(), "application/json")

    def refuse(self, status: int, message: str) -> None:
        self.send(status, json.dumps({"error": message}).encode(), "application/json")

    def send(self, status: int, body: bytes, kind: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")  # the token is in every URL
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # a browser that left mid-answer
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(review: Review, port: int = 0) -> Server:
    """The server for `review` on 127.0.0.1 (not yet serving: call serve_forever)."""
    handler = type("ReviewHandler", (Handler,), {"review": review})
    return Server(("127.0.0.1", port), handler)


def url_of(server: Server, review: Review) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{review.token}/"


def a_browser_is_there() -> bool:
    """A person at a desktop: a terminal, and a display (or a system whose browser needs none)."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    desktop = sys.platform in ("darwin", "win32") or bool(display)
    return sys.stdout.isatty() and desktop


def run_review(args, shown: Callable[[object], str]) -> int:
    """`dupbench review`: the find (its cache makes a second run quick), then the page served until Ctrl-C.
    `shown`: the command's way of printing a path on the terminal (cli.shown: control characters escaped)."""
    from dupbench.finder.find import default_cache, find_with_options
    from dupbench.finder.recommend import chosen

    choice = chosen(args)
    move_to = args.move_to or default_move_to(args.folders)
    if move_to.exists() and not move_to.is_dir():
        raise DupbenchError(f"--move-to {move_to}: a file; give a folder")
    found = find_with_options(args, choice, [move_to])
    plan_chosen(found, move_to, [])  # a --move-to inside a scanned folder is one line now, not at the first apply
    cache_path = args.cache or default_cache(args.folders)
    left_out = leave_out_not_duplicates(found, cache_path)
    review = Review(found, cache_path, args.cache is not None, move_to, left_out)
    server = serve(review, args.port)
    url = url_of(server, review)
    print(
        f"{len(found.groups)} groups among {len(found.photos)} images"
        f"{f' ({left_out} marked not duplicates left out)' if left_out else ''}; chosen copies go to "
        f"{shown(move_to)}\nreview them at {url}\n(Ctrl-C stops the server)",
        flush=True,
    )
    if args.open or a_browser_is_there():
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
