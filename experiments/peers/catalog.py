"""The peers: which tool, in which environment, called how, and what its default threshold is.

An environment is built by `make peers` (experiments/peers/environments.py) from the packages listed
here, with the Python the tool needs (pyenv's 3.12 for Immaculate). Heavy shared dependencies
(torch, torchvision) are not copied into a peer's environment: a .pth file appends the project's own
.venv site-packages after the peer's own, so the peer's own packages win and torch is read from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from experiments.paths import REPO_ROOT

PEERS_ROOT = REPO_ROOT / ".venv-peers"
ADAPTERS = Path(__file__).resolve().parent / "adapters"


@dataclass(frozen=True)
class Environment:
    name: str
    python: str  # "3.11" (this project's) or another minor version found through pyenv
    packages: tuple[str, ...]
    share_torch: bool = False
    opt_in: bool = False  # never installed by `make peers` unless named (licence, size)
    home: Path | None = None  # a built environment of its own (PEERS_ROOT / name) unless given

    @property
    def folder(self) -> Path:
        return self.home or PEERS_ROOT / self.name

    @property
    def bin(self) -> Path:
        return self.folder / "bin"

    @property
    def ready(self) -> Path:
        return self.bin / "python" if self.home else self.folder / "READY"


@dataclass(frozen=True)
class Peer:
    name: str  # the row name in peers.csv
    environment: Environment
    argv: tuple[str, ...]  # {python}, {bin}, {adapters} and {folder} are filled in
    default: str  # what the tool calls a duplicate by default, in words
    equivalent: str = ""  # the harness method computing the same thing, for its calibrated threshold
    licence: str = ""
    notes: tuple[str, ...] = field(default=())

    def command(self, folder: Path) -> list[str]:
        env = self.environment
        fill = {
            "python": str(env.bin / "python"),
            "bin": str(env.bin),
            "adapters": str(ADAPTERS),
            "folder": str(folder),
        }
        return [part.format(**fill) for part in self.argv]


IMAGEDEDUP = Environment("imagededup", "3.11", ("imagededup==0.3.3.post2",), share_torch=True)
IMMACULATE = Environment("immaculate", "3.12", ("immaculate[sscd]==0.3.0",))
DIFPY = Environment("difpy", "3.11", ("difPy==4.2.1",))
FASTDUP = Environment("fastdup", "3.11", ("fastdup",), opt_in=True)  # CC BY-NC-ND: never by default
# czkawka's Rust similar-images engine through its PyO3 bindings; Thorn's perception (OpenCV hashers).
CZKAWKA = Environment("czkawka", "3.11", ("czkawka==0.1.2",))
# The extra brings faiss and networkit: its approximate_deduplication groups pairs by strictness.
PERCEPTION = Environment("perception", "3.11", ("perception[approximate-deduplication]==0.9.3",))
ENVIRONMENTS = (IMAGEDEDUP, IMMACULATE, DIFPY, CZKAWKA, PERCEPTION, FASTDUP)


def imagededup(method: str, equivalent: str) -> Peer:
    return Peer(
        f"imagededup {method}",
        IMAGEDEDUP,
        ("{python}", "{adapters}/imagededup_adapter.py", method, "{folder}"),
        "Hamming distance <= 10 of 64 (find_duplicates' max_distance_threshold)",
        equivalent,
        "Apache-2.0",
    )


def immaculate(method: str, default: str, equivalent: str) -> Peer:
    return Peer(
        f"immaculate {method}",
        IMMACULATE,
        ("{bin}/immaculate", "{folder}", "--json", "--method", method),
        default,
        equivalent,
        "MIT (SSCD weights: MIT)",
    )


def perception(strictness: str) -> Peer:
    """Thorn's perception: its README's deduplication (pairs, grouped as connected components), or its
    pairs grouped by its own strictness option (communities, or cliques: every member matched every other)."""
    grouped = ("--strictness", strictness) if strictness else ()
    return Peer(
        f"perception PHash {strictness}".strip(),
        PERCEPTION,
        ("{python}", "{adapters}/perception_adapter.py", "{folder}", *grouped),
        "PHash hash_size=16, normalised Hamming distance <= 0.2 (its README's deduplication example)"
        + (f"; pairs_to_clusters(strictness={strictness!r})" if strictness else ""),
        "",
        "Apache-2.0",
    )


def perception_sift() -> Peer:
    """Thorn's perception's local-descriptor deduplication: the peer closest to dupbench's verification."""
    return Peer(
        "perception SIFT",
        PERCEPTION,
        ("{python}", "{adapters}/perception_adapter.py", "{folder}", "--local"),
        "SIFT, at most 256 features of each image at most 256 px, matched and checked by one geometric transform "
        "(local_descriptor_deduplication.deduplicate's defaults)",
        "",
        "Apache-2.0",
    )


# dupbench's own finder, run and scored as a peer is (its whole process on the staged folder, cold): a rule
# of `dupbench find` beside the tools' defaults in the tables that rank them. Not a peer; never built by
# `make peers` (it is this project's own environment).
DUPBENCH = Environment("dupbench", "3.11", (), home=REPO_ROOT / ".venv")


def finder(name: str, options: tuple[str, ...], default: str) -> Peer:
    return Peer(
        f"dupbench find {name}",
        DUPBENCH,
        ("{python}", "{adapters}/dupbench_adapter.py", "{folder}", *options),
        default,
        "",
        "this project",
    )


# Issue 39's two stages, the default since, as `dupbench find` options (dupbench.finder.recommend.TWO_STAGES):
# copies_bench and copies_speed run them by name.
NO_BACKGROUND = ("--normalise", "none", "--grouping", "components")
TWO_STAGES = ("--method", "sscd_distilled", *NO_BACKGROUND, "--threshold", "0.5", "--verify")
FINDERS = (
    finder(
        "default",
        (),
        "dupbench find's default, issue 39's two stages: distilled SSCD at 0.5 without the folder background, "
        "each candidate verified",
    ),
    finder("views", ("--views",), "--views: distilled SSCD under the one-stage rule the kinds benchmark chose"),
)

PEERS = (
    imagededup("PHash", "phash"),
    imagededup("DHash", "dhash"),
    imagededup("WHash", "whash"),
    imagededup("AHash", "ahash"),
    immaculate("pdq", "PDQ within 31 bits, rotations and flips included", "pdq_dihedral"),
    immaculate("phash", "identical pHash", "phash"),
    immaculate("sscd", "SSCD embeddings at least 0.75 cosine", "sscd"),
    immaculate("sscd_distilled", "distilled SSCD at least 0.75 cosine", "sscd_distilled"),
    Peer(
        "difPy",
        DIFPY,
        ("{python}", "{adapters}/difpy_adapter.py", "{folder}"),
        "mean squared error 0 on 50x50 grayscale (similarity='duplicates')",
        "",
        "MIT",
    ),
    Peer(
        "czkawka",
        CZKAWKA,
        ("{python}", "{adapters}/czkawka_adapter.py", "{folder}"),
        "its similar-images engine at the bindings' default similarity (a perceptual hash, Hamming distance)",
        "",
        "MIT (bindings); czkawka: MIT",
    ),
    perception(""),
    perception("community"),
    perception("clique"),
    perception_sift(),
)
