"""Run inside perception's environment: `python perception_adapter.py FOLDER` prints JSON {"tool",
"version", "groups": [[path, path], ...]} on stdout, paths relative to FOLDER: Thorn's perception,
`tools.deduplicate` with the hasher and threshold of its README's deduplication example (PHash with
hash_size=16, normalised Hamming distance <= 0.2) over every image file under FOLDER. Its answer is
duplicate pairs; each pair is a group (the harness merges groups that share an image). Standalone."""

import json
import os
import sys
from importlib import metadata

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif")  # what its OpenCV reads


def main() -> None:
    folder = os.path.abspath(sys.argv[1])
    from perception import hashers, tools

    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(SUFFIXES) and not name.startswith(".")
    )
    pairs = tools.deduplicate(files=files, hashers=[(hashers.PHash(hash_size=16), 0.2)])
    groups = [sorted(os.path.relpath(p, folder) for p in pair) for pair in pairs]
    print(json.dumps({"tool": "perception", "version": metadata.version("perception"), "groups": groups}))


if __name__ == "__main__":
    main()
