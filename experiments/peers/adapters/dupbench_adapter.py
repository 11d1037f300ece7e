"""Run by the benchmarks as a peer is run: `python dupbench_adapter.py FOLDER OPTION...` runs `dupbench find
FOLDER OPTION...` with a fresh cache (cold, as a first run) and prints JSON {"tool", "version", "groups":
[[path, ...], ...]} on stdout, the paths as find reports them: dupbench's finder in the peers' contract, so
that a rule of it is timed, measured and scored beside the tools by the same code (experiments/peers/run.py)."""

import contextlib
import io
import json
import sys
import tempfile
from importlib import metadata
from pathlib import Path


def main() -> int:
    from dupbench.finder.cli import main as dupbench

    folder, options = sys.argv[1], sys.argv[2:]
    with tempfile.TemporaryDirectory(prefix="dupbench-adapter-") as tmp:
        out = Path(tmp) / "found.json"
        with contextlib.redirect_stdout(io.StringIO()):
            code = dupbench(["find", folder, *options, "--cache", f"{tmp}/cache", "--quiet", "--json", str(out)])
        if code not in (0, 1):
            print(f"dupbench find exited {code}", file=sys.stderr)
            return code
        found = json.loads(out.read_text())
    groups = [[member["path"] for member in group["members"]] for group in found["groups"]]
    print(json.dumps({"tool": "dupbench", "version": metadata.version("dupbench"), "groups": groups}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
