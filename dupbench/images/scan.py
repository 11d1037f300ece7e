"""What a folder scan finds: the image files it uses, and every other entry it meets with the reason
it is not used (recorded in skipped.csv, never dropped in silence).

Used: files with an image suffix; files without one that begin like a format read here (JPEG, PNG, GIF,
BMP, TIFF, WebP, HEIF/AVIF) and that Pillow opens.
Recorded, not used: hidden files and hidden folders (a leading dot, alike), symlinks that loop or
lead nowhere, formats not decoded here (raw camera files, .jxl, .psd; .heic without pillow-heif:
dupbench/images/formats.py), files that are not images, and folders where files were expected.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dupbench.errors import DupbenchError
from dupbench.images.formats import AVIF_SUFFIXES, HEIF_SUFFIXES, IMAGE_SUFFIXES, why_unreadable

# Formats people keep photos in that are not decoded here (HEIF and AVIF only when their reader is missing).
UNSUPPORTED_SUFFIXES = (
    HEIF_SUFFIXES
    | AVIF_SUFFIXES
    | {
        ".jxl",
        ".cr2",
        ".cr3",
        ".nef",
        ".arw",
        ".dng",
        ".raf",
        ".orf",
        ".rw2",
        ".psd",
        ".svg",
    }
) - IMAGE_SUFFIXES


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)
    stats: list[os.stat_result] = field(default_factory=list)  # each used file's stat (links followed)
    links: set[str] = field(default_factory=set)  # names of used files that are symbolic links


DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """2.jpg before 10.jpg: text and numbers alternate (natsort's default order, then the name itself so
    "a01" and "a1" keep one order). Not natsort: its key cost 30 us a name, 3 s on 100,000 files."""
    parts = DIGITS.split(name if name.isascii() else unicodedata.normalize("NFD", name))  # é beside e, as natsort
    parts[1::2] = map(int, parts[1::2])
    return (parts, name)


def entries(folder: Path) -> list[os.DirEntry]:
    """A folder's entries in natural order (2.jpg before 10.jpg); an unreadable folder is one line.
    Directory entries, not paths: their type comes with the listing and their stat is taken once (five
    stat calls per file took 10 s of a warm run over 100,000 images)."""
    try:
        with os.scandir(folder) as listing:
            return sorted(listing, key=lambda e: natural_key(e.name))
    except PermissionError:
        raise DupbenchError(f"cannot read folder {folder}: permission denied") from None
    except NotADirectoryError:
        raise DupbenchError(f"{folder} is not a folder") from None
    except OSError as exc:
        raise DupbenchError(f"cannot read folder {folder}: {exc.strerror or exc}") from None


# How the formats read here begin (IMAGE_SUFFIXES's: JPEG, PNG, GIF, BMP, TIFF and BigTIFF; WebP and
# HEIF/AVIF are checked in starts_like_image). A file without an image suffix goes to Pillow only when it
# begins like one of them: Pillow's own identification loads and tries each of its ~40 formats (25-40 ms
# at a run's first such file, 0.2-0.4 ms at each after), and a folder with a sidecar beside each photo
# (Google Takeout's .json, a camera's .xmp) would spend seconds of its scan there.
SIGNATURES = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
)


def starts_like_image(head: bytes) -> bool:
    return head.startswith(SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") or head[4:8] == b"ftyp"


def looks_like_image(path: Path) -> bool:
    """A file without an image suffix is used when it begins like a format read here and Pillow opens it."""
    try:
        with open(path, "rb") as file:
            if not starts_like_image(file.read(12)):
                return False
        with Image.open(path) as image:
            return bool(image.format)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def suffix_of(name: str) -> str:
    """Path(name).suffix, from the string (a scan asks it of every file)."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def why_link_unusable(path: Path) -> str | None:
    """Why a symbolic link (or a path through one) cannot be followed, else None: a loop (`ln -s loop
    loop`, or a -> b -> a) or a target that is not there. A loop is a RuntimeError from Python 3.11's
    resolve and an OSError (ELOOP) from 3.13's: both are told apart here, so neither stops a scan."""
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "symlink loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "symlink to nothing (its target does not exist)"
        return f"symlink that cannot be followed: {exc.strerror or exc}"
    return None


def why_not_used(path: Path, entry: os.DirEntry | None = None) -> str | None:
    """None for an image file the scan uses, else the reason it does not (`entry`: its directory entry,
    where the caller has one, so its type costs no system call)."""
    name = entry.name if entry is not None else path.name
    if name.startswith("."):
        return "hidden (name starts with a dot)"
    if (entry.is_symlink() if entry is not None else path.is_symlink()) and (why := why_link_unusable(path)):
        return why
    if not (entry.is_file() if entry is not None else path.is_file()):
        return "not a regular file"
    suffix = suffix_of(name).lower()
    if suffix in IMAGE_SUFFIXES:
        return None
    if suffix in UNSUPPORTED_SUFFIXES:
        return why_unreadable(suffix)
    if looks_like_image(path):
        return None
    return f"not an image (suffix {suffix or 'none'}, content not recognised as an image)"


def scan(folder: Path, folders_wanted: bool = False) -> Scan:
    """One level of `folder`: image files (and, when `folders_wanted`, sub-folders) in natural order."""
    found = Scan()
    # CPython's own child-path maker for walking a folder (what Path.iterdir uses): a third of the cost
    # of `folder / name`, which parses the name again (0.3 s per 100,000 files).
    child = getattr(folder, "_make_child_relpath", folder.joinpath)
    for entry in entries(folder):
        path = child(entry.name)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if entry.name.startswith("."):
                found.skipped.append((path, "hidden folder (name starts with a dot)"))
            elif folders_wanted:
                found.folders.append(path)
            else:
                found.skipped.append((path, "a folder inside a group: not scanned (groups are one level deep)"))
            continue
        reason = why_not_used(path, entry)
        if reason is None:
            try:
                stat = entry.stat()
            except OSError as exc:  # gone, or unreadable, since the listing
                found.skipped.append((path, f"cannot stat: {exc.strerror or exc}"))
                continue
            found.files.append(path)
            found.stats.append(stat)
            if entry.is_symlink():
                found.links.add(entry.name)
        else:
            found.skipped.append((path, reason))
    return found
