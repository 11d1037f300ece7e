"""Run inside perception's environment: `python perception_adapter.py FOLDER` prints JSON {"tool",
"version", "groups": [[path, path], ...]} on stdout, paths relative to FOLDER: Thorn's perception,
`tools.deduplicate` with the hasher and threshold of its README's deduplication example (PHash with
hash_size=16, normalised Hamming distance <= 0.2) over every image file under FOLDER. Its answer is
duplicate pairs; each pair is a group (the harness merges groups that share an image: connected
components). `--strictness community|clique`: the pairs grouped by its own
`approximate_deduplication.pairs_to_clusters` instead (communities inside components, or maximal
cliques inside those: every member matched every other). `--local`: its local-descriptor deduplication
instead (`local_descriptor_deduplication.deduplicate` at its defaults: SIFT keypoints of each image at
most 256 px, matched and checked by one geometric transform), its pairs grouped as components.
Standalone."""

import json
import os
import sys
from importlib import metadata

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif")  # what its OpenCV reads


def main() -> None:
    folder = os.path.abspath(sys.argv[1])
    strictness = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--strictness" else None
    local = sys.argv[2:] == ["--local"]
    from perception import hashers, tools

    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(SUFFIXES) and not name.startswith(".")
    )
    if local:
        from perception import local_descriptor_deduplication

        pairs = [pair[:2] for pair in local_descriptor_deduplication.deduplicate(files)]
    else:
        pairs = tools.deduplicate(files=files, hashers=[(hashers.PHash(hash_size=16), 0.2)])
    if strictness:
        from perception.approximate_deduplication import pairs_to_clusters

        clusters: dict[int, list[str]] = {}
        for row in pairs_to_clusters(files, pairs, strictness=strictness):
            clusters.setdefault(row["cluster"], []).append(row["id"])
        groups = [sorted(os.path.relpath(p, folder) for p in c) for c in clusters.values() if len(c) > 1]
    else:
        groups = [sorted(os.path.relpath(p, folder) for p in pair) for pair in pairs]
    print(json.dumps({"tool": "perception", "version": metadata.version("perception"), "groups": groups}))


if __name__ == "__main__":
    main()
