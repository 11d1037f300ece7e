"""Run inside difPy's environment: `python difpy_adapter.py FOLDER` prints JSON {"tool", "version",
"groups": [[path, ...]], "pairs": [[path, path, mse], ...]} on stdout, paths relative to FOLDER:
difPy.build, then difPy.search at its defaults (similarity 'duplicates': MSE 0 between 50x50
thumbnails). Its result maps each image to its matches [[path, mse], ...]. Standalone."""

import json
import os
import sys


def main() -> None:
    folder = os.path.abspath(sys.argv[1])
    import difPy

    search = difPy.search(difPy.build(folder, show_progress=False), show_progress=False)
    relative = lambda path: os.path.relpath(path, folder)  # noqa: E731
    groups, pairs = [], []
    for first, matches in search.result.items():
        others = [(match[0], float(match[1])) for match in matches]
        if others:
            groups.append(sorted(relative(p) for p in [first, *(o for o, _ in others)]))
            pairs += [sorted([relative(first), relative(o)]) + [mse] for o, mse in others]
    print(json.dumps({"tool": "difPy", "version": getattr(difPy, "__version__", ""), "groups": groups, "pairs": pairs}))


if __name__ == "__main__":
    main()
