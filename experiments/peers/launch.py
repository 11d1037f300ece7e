"""Run a command and write its peak resident memory: `python -S launch.py OUT_JSON COMMAND...`.

A small launcher between dupbench and a peer, because a child forked from a large process (dupbench
with torch loaded) counts that process's pages in its own peak until it execs: measured from here,
the peer's peak is its own (plus this launcher's few MiB before its exec). Standard library only."""

import json
import resource
import subprocess
import sys


def main() -> None:
    out, command = sys.argv[1], sys.argv[2:]
    done = subprocess.run(command, stdin=subprocess.DEVNULL)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(out, "w") as f:
        json.dump({"returncode": done.returncode, "peak_rss_kib": peak_kib}, f)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
