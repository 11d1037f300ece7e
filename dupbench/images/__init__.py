"""Images from files: what a folder scan uses (scan), reading one file as RGB (read), and decoding
many at the size a method needs, in batches (decode)."""

# Registers the HEIC/HEIF reader before any submodule reads a file (see formats.py).
from dupbench.images import formats as formats  # noqa: E402
