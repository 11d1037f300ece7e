"""Which image formats this installation reads. Pillow reads JPEG, PNG, WebP, TIFF, GIF, BMP and (from
Pillow 11.3, where its wheel carries libavif) AVIF; pillow-heif adds HEIC/HEIF, what iPhones save.
Registered once, when dupbench.images is imported, so every reader (scan, read, decode, a worker
process) sees the same formats. HEIF's rotation (irot/imir, where an iPhone keeps its orientation)
is applied by libheif on reading; EXIF orientation for the rest by ImageOps.exif_transpose."""

from __future__ import annotations

from PIL import features

BASE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})
AVIF_SUFFIXES = frozenset({".avif"})


def register_heif() -> bool:
    try:
        import pillow_heif
    except ImportError:  # a plain install without it: .heic is recorded as skipped, with the reason
        return False
    pillow_heif.register_heif_opener()
    return True


HEIF_READ = register_heif()
AVIF_READ = bool(features.check("avif"))

IMAGE_SUFFIXES = (
    BASE_SUFFIXES | (HEIF_SUFFIXES if HEIF_READ else frozenset()) | (AVIF_SUFFIXES if AVIF_READ else frozenset())
)


def why_unreadable(suffix: str) -> str:
    """The reason a format people keep photos in is not read here, and what would change that."""
    if suffix in HEIF_SUFFIXES:
        return f"unsupported format {suffix} (install pillow-heif to read HEIC/HEIF, or convert it to JPEG)"
    if suffix in AVIF_SUFFIXES:
        return f"unsupported format {suffix} (this Pillow has no AVIF support: Pillow >= 11.3, or convert it)"
    return f"unsupported format {suffix} (Pillow cannot decode it here; convert it to JPEG or PNG)"
