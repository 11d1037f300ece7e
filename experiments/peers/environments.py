"""`make peers`: build each peer's environment in .venv-peers/<name> with the Python it needs.

A peer that cannot be had (no such Python here, a failed install) is one line and a `FAILED` file
with the reason: the peers run records it as a skipped row, and its adapter test skips. The last line
names every peer not available. The command fails only for a peer that installed before on this kind
of machine (experiments/peers/expected.toml) and no longer does: a broken environment is then a
failure in CI, not a quiet skip (--optional: reported, not a failure). Opt-in environments (fastdup:
CC BY-NC-ND) are built only when named: `make peers PEERS=fastdup`.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from experiments.peers.catalog import ENVIRONMENTS, Environment

EXPECTED = Path(__file__).with_name("expected.toml")
NOT_AVAILABLE = "not available: "


def find_python(version: str) -> str | None:
    """This interpreter for its own minor version, else pyenv's newest of that minor version."""
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    try:  # pyenv's interpreter itself: its shims pick a version by the folder, not by the name asked
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        root = ""
    candidates = sorted(Path(root, "versions").glob(f"{version}.*/bin/python{version}")) if root else []
    if candidates:
        return str(candidates[-1])
    found = shutil.which(f"python{version}")
    return found if found and ".pyenv/shims" not in found else None


def build(env: Environment) -> str:
    """Build one environment; the outcome in a few words."""
    if env.ready.is_file() and env.ready.read_text().split() == list(env.packages):
        return "ready (already built)"  # with the packages it lists now: a changed pin rebuilds it
    python = find_python(env.python)
    if python is None:
        return fail(env, f"no Python {env.python} on this machine (pyenv install {env.python})")
    shutil.rmtree(env.folder, ignore_errors=True)
    made = subprocess.run([python, "-m", "venv", str(env.folder)], capture_output=True, text=True)
    if made.returncode:
        return fail(env, f"venv failed: {made.stderr.strip().splitlines()[-1:]}")
    if env.share_torch:  # after the peer's own site-packages: its own packages win
        purelib = Path(sysconfig.get_paths()["purelib"])
        own = next(env.folder.glob("lib/python*/site-packages"))
        (own / "zz_dupbench_shared.pth").write_text(f"{purelib}\n")
    pip = [str(env.bin / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *env.packages]
    installed = subprocess.run(pip, capture_output=True, text=True, timeout=1800)
    if installed.returncode:
        lines = [line for line in installed.stderr.splitlines() if line.strip() and "WARNING" not in line]
        return fail(env, f"pip install {' '.join(env.packages)} failed: {lines[-1] if lines else installed.returncode}")
    env.ready.write_text(" ".join(env.packages) + "\n")
    return "built"


def fail(env: Environment, reason: str) -> str:
    env.folder.mkdir(parents=True, exist_ok=True)
    (env.folder / "FAILED").write_text(reason + "\n")
    return f"{NOT_AVAILABLE}{reason}"


def machine_kind() -> str:
    return f"{platform.system()}-{platform.machine()}"


def expected_here(kind: str, path: Path = EXPECTED) -> set[str]:
    """The peers that installed before on this kind of machine (none where it is not listed)."""
    return set(tomllib.loads(path.read_text()).get(kind, {}).get("installs", []))


def summary(outcomes: dict[str, str], expected: set[str]) -> tuple[str, list[str]]:
    """The closing line (which peers are not available, so their adapter tests skip) and the peers
    that installed before here and no longer do."""
    missing = {name: why.removeprefix(NOT_AVAILABLE) for name, why in outcomes.items() if why.startswith(NOT_AVAILABLE)}
    lost = sorted(name for name in missing if name in expected)
    ready = [name for name in outcomes if name not in missing]
    line = f"peers: {len(ready)} of {len(outcomes)} available ({', '.join(ready) or 'none'})"
    if missing:
        line += f"; not available, their adapter tests skip: {', '.join(sorted(missing))}"
    return line, lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="environments to build (default: every one not opt-in)")
    parser.add_argument("--optional", action="store_true", help="a peer that installed before may fail: said only")
    args = parser.parse_args(argv)
    chosen = [e for e in ENVIRONMENTS if (e.name in args.names if args.names else not e.opt_in)]
    outcomes = {}
    for env in chosen:
        outcomes[env.name] = build(env)
        print(f"peers: {env.name} (Python {env.python}, {' '.join(env.packages)}): {outcomes[env.name]}", flush=True)
    kind = machine_kind()
    line, lost = summary(outcomes, expected_here(kind))
    print(line, flush=True)
    if not lost:
        return 0
    verb = "does" if len(lost) == 1 else "do"
    then = "" if args.optional else ": failing (PEERS_OPTIONAL=1 or --optional goes on without it)"
    where = EXPECTED.relative_to(EXPECTED.parents[2])
    print(f"peers: {', '.join(lost)} installed before on {kind} ({where}) and no longer {verb}{then}", file=sys.stderr)
    return 0 if args.optional else 1


if __name__ == "__main__":
    sys.exit(main())
