"""Run inside imagededup's environment: `python imagededup_adapter.py METHOD FOLDER` prints JSON
{"tool", "version", "groups": [[path, ...]], "pairs": [[path, path, distance], ...]} on stdout:
groups from find_duplicates at its default threshold, every pair's Hamming distance for curves.
Paths are relative to FOLDER. Standalone: it imports imagededup, never dupbench."""

import json
import logging
import sys

logging.disable(logging.CRITICAL)


def main() -> None:
    method, folder = sys.argv[1], sys.argv[2]
    import imagededup
    from imagededup import methods

    hasher = getattr(methods, method)(verbose=False)
    encodings = hasher.encode_images(image_dir=folder, recursive=True)
    found = hasher.find_duplicates(encoding_map=encodings)  # its default: distance <= 10
    scored = hasher.find_duplicates(encoding_map=encodings, max_distance_threshold=64, scores=True)
    groups = [sorted([name, *others]) for name, others in found.items() if others]
    pairs = sorted({tuple(sorted((a, b))) + (d,) for a, rows in scored.items() for b, d in rows})
    print(
        json.dumps(
            {
                "tool": "imagededup",
                "version": imagededup.__version__,
                "groups": groups,
                "pairs": [list(p) for p in pairs],
            }
        )
    )


if __name__ == "__main__":
    main()
