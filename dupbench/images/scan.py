"""What a folder scan finds: the image files it uses, and every other entry it meets with the reason
it is not used (recorded in skipped.csv, never dropped in silence).

Used: files with an image suffix; files without one whose content Pillow recognises as an image.
Recorded, not used: hidden files and hidden folders (a leading dot, alike), symlinks that loop or
lead nowhere, formats not decoded here (raw camera files, .jxl, .psd; .heic without pillow-heif:
dupbench/images/formats.py), files that are not images, and folders where files were expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from natsort import natsorted
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


def entries(folder: Path) -> list[Path]:
    """A folder's entries in natural order (2.jpg before 10.jpg); an unreadable folder is one line."""
    try:
        return natsorted(folder.iterdir(), key=lambda p: p.name)
    except PermissionError:
        raise DupbenchError(f"cannot read folder {folder}: permission denied") from None
    except NotADirectoryError:
        raise DupbenchError(f"{folder} is not a folder") from None
    except OSError as exc:
        raise DupbenchError(f"cannot read folder {folder}: {exc.strerror or exc}") from None


def looks_like_image(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            return bool(image.format)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def why_not_used(path: Path) -> str | None:
    """None for an image file the scan uses, else the reason it does not."""
    if path.name.startswith("."):
        return "hidden (name starts with a dot)"
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "symlink loop"
        except OSError:
            return "symlink to nothing (its target does not exist)"
    if not path.is_file():
        return "not a regular file"
    suffix = path.suffix.lower()
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
    for path in entries(folder):
        if path.is_dir():
            if path.name.startswith("."):
                found.skipped.append((path, "hidden folder (name starts with a dot)"))
            elif folders_wanted:
                found.folders.append(path)
            else:
                found.skipped.append((path, "a folder inside a group: not scanned (groups are one level deep)"))
            continue
        reason = why_not_used(path)
        if reason is None:
            found.files.append(path)
        else:
            found.skipped.append((path, reason))
    return found
