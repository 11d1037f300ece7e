"""Get a data set's files into its root: copied from a folder or downloaded, verified by sha256.

Resumable: a file already there with the right sha256 is left alone, and a download that stopped
keeps its `.part` file, which the next try continues with an HTTP Range request. A file is renamed
into place only once complete and verified, so the root never holds a half-written image.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlparse

from tqdm.auto import tqdm

from dupbench.errors import DupbenchError
from dupbench.files import sha256_of
from experiments.data.dataset import Item

CHUNK = 1 << 16


class FetchError(Exception):
    pass


class Unreachable(FetchError):
    """The source itself cannot be reached: the files after this one would fail the same way."""


@dataclass(frozen=True)
class Outcome:
    key: str
    status: str  # "present", "fetched", "failed" or "not tried"
    detail: str = ""


WEB = ("http", "https")


def source_for(item: Item, origin: str | None) -> str:
    """Where one file comes from: `origin` (a folder, or a base URL the manifest paths are under)
    when given, else the manifest's own `url` for it. A manifest's url must be http(s): a manifest
    never names a file elsewhere on this machine; a local source is only the explicit --from folder."""
    if origin:
        if urlparse(origin).scheme in WEB:
            return urljoin(origin.rstrip("/") + "/", quote(item.key))
        folder = Path(urlparse(origin).path if origin.startswith("file://") else origin)
        return str(folder / item.key)
    if not item.url:
        raise FetchError("no source: the manifest has no url for it; pass --from URL_OR_DIR")
    if urlparse(item.url).scheme not in WEB:
        raise FetchError(
            f"the manifest's url {item.url!r} is not http(s); only http(s) urls and the --from folder are fetched from"
        )
    return item.url


def _download(url: str, part: Path, timeout: float) -> None:
    """Fetch `url` into `part`, continuing a partial file; raise FetchError if it comes short."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if offset and response.status != 206:  # the server ignored the range: start over
                offset = 0
            expected = response.headers.get("Content-Length")
            received = 0
            flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if offset else os.O_TRUNC)
            with os.fdopen(os.open(part, flags, 0o644), "ab" if offset else "wb") as f:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except (ConnectionError, OSError, urllib.error.URLError) as exc:
                        raise FetchError(
                            f"connection lost after {offset + received} bytes ({exc}); run again to resume"
                        ) from None
                    if not chunk:
                        break
                    f.write(chunk)
                    received += len(chunk)
            if expected is not None and received < int(expected):
                raise FetchError(
                    f"truncated: {offset + received} of {offset + int(expected)} bytes arrived; run again to resume"
                )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the range starts at the end: the .part is already whole
            return
        raise FetchError(f"HTTP {exc.code} from {url}") from None
    except urllib.error.URLError as exc:
        raise Unreachable(f"cannot reach {url}: {exc.reason}") from None
    except TimeoutError:
        raise Unreachable(f"no answer from {url} within {timeout} s; run again to resume") from None


def _obtain(source: str, part: Path, timeout: float) -> None:
    if urlparse(source).scheme in ("http", "https"):
        _download(source, part, timeout)
    else:
        if not Path(source).is_file():
            raise FetchError(f"not found at {source}")
        shutil.copyfile(source, part)


def refuse_folders(*paths: Path) -> None:
    """A folder where fetch writes a file was made by someone: never removed, renamed over or written
    into; the fetch stops with one line naming it."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            raise DupbenchError(f"{path} is a folder where fetch writes a file: left as it is; move it away, run again")


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:  # a file where the manifest's path needs a folder
        problem = f"cannot make the folder {folder}: {exc.strerror} (a file in the way: left as it is)"
        raise DupbenchError(problem) from None


def fetch_item(item: Item, origin: str | None, timeout: float = 60.0) -> Outcome:
    if item.path.is_file() and (not item.sha256 or sha256_of(item.path) == item.sha256):
        return Outcome(item.key, "present")
    part = item.path.with_name(item.path.name + ".part")
    refuse_folders(item.path, part)
    if part.is_symlink() or (part.exists() and not part.is_file()):
        part.unlink()  # a planted link (even to a folder) or a FIFO: removed, never followed out of the data root
    try:
        make_folder(item.path.parent)
        _obtain(source_for(item, origin), part, timeout)
        if item.sha256:
            actual = sha256_of(part)
            if actual != item.sha256:
                part.unlink()  # wrong bytes are not worth resuming
                raise FetchError(f"sha256 {actual} where the manifest says {item.sha256}; not installed")
        os.replace(part, item.path)
    except Unreachable:
        raise
    except FetchError as exc:
        return Outcome(item.key, "failed", str(exc))
    return Outcome(item.key, "fetched")


def fetch(items: list[Item], origin: str | None, timeout: float = 60.0) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with tqdm(items, unit="file", desc="fetch", disable=None) as bar:
        for item in bar:
            try:
                outcomes.append(fetch_item(item, origin, timeout))
            except Unreachable as exc:
                outcomes.append(Outcome(item.key, "failed", str(exc)))
                rest = items[len(outcomes) :]
                outcomes += [Outcome(it.key, "not tried", "stopped: the source is unreachable") for it in rest]
                break
            bar.set_postfix_str(outcomes[-1].status)
    return outcomes
