"""Run inside czkawka's environment: `python czkawka_adapter.py FOLDER` prints JSON {"tool", "version",
"groups": [[path, ...]]} on stdout, paths relative to FOLDER: czkawka's Python bindings (its Rust
similar-images engine through PyO3), ImageSimilarity at its defaults (set_similarity not called),
find_similar over the folder, searched recursively. Standalone."""

import json
import os
import sys
from importlib import metadata


def main() -> None:
    folder = os.path.realpath(sys.argv[1])  # czkawka answers with resolved paths
    from czkawka import ImageSimilarity

    finder = ImageSimilarity()
    finder.set_directories([folder])
    groups = [sorted(os.path.relpath(os.path.realpath(p), folder) for p in g) for g in finder.find_similar()]
    print(json.dumps({"tool": "czkawka", "version": metadata.version("czkawka"), "groups": groups}))


if __name__ == "__main__":
    main()
