"""The interface every method implements: prepare an image once, score a pair of representations."""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image

Direction = Literal["distance", "similarity"]


class Method:
    """A duplicate-finding method.

    `prepare(image)` turns an RGB PIL image into a representation; `score(a, b)` compares two
    representations. `direction` says whether a lower score (distance) or a higher one
    (similarity) means "more alike". `prepare_many` and `score_matrix` loop over the pair
    functions; a method overrides them where it can batch.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    variant: ClassVar[str] = "article"  # "article" = the article's exact calls; anything else is ours
    # "article": the article's methods and their corrected variants (`method=article`, the default,
    # what Experiments 1-3 run as the article did); "field": the other hashes, descriptors and
    # networks people use (`method=all` runs both).
    suite: ClassVar[str] = "field"
    direction: ClassVar[Direction] = "distance"
    symmetric: ClassVar[bool] = True  # score(a, b) == score(b, a): lets score_matrix halve the work
    min_side: ClassVar[int] = 1  # the smallest image side (after resizing) the method can use
    summary: ClassVar[str] = ""
    # What `python -m dupbench.methods --long` and docs/methods.md say of it: the package whose call it makes
    # (its installed version is looked up), that code's licence, and what one image becomes.
    library: ClassVar[str] = ""
    # The modules its calls import beyond what `pip install dupbench` brings, each with what `pip install`
    # takes to bring it: a method whose module is missing is one line naming it, before any work
    # (registry.missing_needs), and `dupbench find --help` lists it apart.
    needs: ClassVar[Mapping[str, str]] = {}
    licence: ClassVar[str] = ""
    representation: ClassVar[str] = ""
    # How methods.search can search prepare_many's output at scale: "hamming", "cosine", "l2", or
    # None (the method's own score_matrix in blocks).
    index_kind: ClassVar[str | None] = None
    # Same inputs, same scores to the last bit on any machine. False for float32 networks, whose sums
    # depend on thread count and SIMD path: the regression check then allows a stated tolerance.
    deterministic: ClassVar[bool] = True
    # The largest score difference between the article's per-image calls and the fast engine's
    # batched path (0: the same arithmetic, float rounding only).
    engine_tolerance: ClassVar[float] = 0.0
    # What a benchmark on full-size photos decodes for it (the field benchmark, `dupbench find`):
    # None: the image at the run's resize, as in the article's experiments; a number: the image
    # decoded with at least this short side (JPEG DCT scaling where it can), the method resizing
    # it itself (a hash to 8x8, SSCD to 288): never a full decode where a reduced one gives the same input.
    decode_side: ClassVar[int | None] = None
    # prepare_many may run on several threads at once (pure Python/Pillow/numpy work, nothing shared);
    # False for a method that already uses every core itself (a network) or keeps state.
    parallel_prepare: ClassVar[bool] = False
    # prepare_many takes (height, width, 3) uint8 arrays as well as RGB images: a JPEG decoded in C
    # reaches it without a Pillow image in between (dupbench/engine/reads.py).
    takes_arrays: ClassVar[bool] = False
    # The threshold the method's authors or its usual tool ship (None where there is none), and whose.
    default_threshold: ClassVar[float | None] = None
    default_threshold_source: ClassVar[str] = ""
    # How many bits a Hamming distance counts (a hash): its score reads "distance 2 of 256 bits"; None for
    # any other score (a cosine, from index_kind, or a plain distance).
    score_bits: ClassVar[int | None] = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Method:
        """Build from the run's settings; methods that need none ignore them."""
        return cls()

    def prepare(self, image: Image.Image) -> Any:
        raise NotImplementedError

    def score(self, a: Any, b: Any) -> float:
        raise NotImplementedError

    def prepare_many(self, images: Sequence[Image.Image]) -> Any:
        """All images' representations, in whatever form score_matrix takes (the fast engine's path)."""
        return loop_prepare_many(self, images)

    def score_matrix(self, A: Any, B: Any, same: bool = False) -> np.ndarray:
        """Scores of every (a, b); `same=True` says A is B, so a symmetric method scores each pair once."""
        return loop_score_matrix(self, A, B, same)

    def join(self, parts: Sequence[Any]) -> Any:
        """prepare_many results of consecutive batches as one (what a batched encoder assembles)."""
        if isinstance(parts[0], np.ndarray):
            return np.concatenate(parts)
        return [row for part in parts for row in part]

    def count(self, prepared: Any) -> int:
        """How many images a prepare_many result holds."""
        return len(prepared)

    def subset(self, prepared: Any, rows: slice | np.ndarray) -> Any:
        """The prepare_many result of some of the images: a slice (row blocks of a search) or an index
        array (the members of a group)."""
        if isinstance(rows, slice) or isinstance(prepared, np.ndarray):
            return prepared[rows]
        return [prepared[i] for i in rows]

    @classmethod
    def code_version(cls) -> str:
        """A digest of the source this method's results come from: the files of its classes and of the
        methods-package modules its own module uses (gram.py, tensors.py, ...). A result row carries
        it in its fingerprint, so an edited method is rerun, never reused."""
        return code_digest(cls)

    def load(self) -> None:
        """Import and load what the method's calls need (torch, a network's weights, scipy), so no
        timed call pays for it. create_method calls it; a run that may keep every row creates
        methods with load=False and loads only those it computes."""

    def describe(self) -> dict[str, Any]:
        """Extra facts that belong in every result row (a CNN adds its backbone and weights)."""
        return {"backbone": "", "weights_sha256": ""}

    def weights_file(self) -> str:
        """The file the method's weights came from ("" for a method without any)."""
        return ""

    def cache_identity(self) -> dict[str, str] | None:
        """What a cached representation depends on besides the image, for methods worth caching on
        disk (a CNN's features); None: prepare_many is cheap enough to rerun."""
        return None

    def floor(self, images: Sequence[Image.Image]) -> Callable[[], Any] | None:
        """The unavoidable part of prepare_many on these images, ready to time (a CNN's forward passes
        on ready tensors), for benchmarks that ask how close the whole path comes to it; None where
        there is nothing to separate."""
        return None

    def release(self) -> None:
        """Free what outlives the instance (a model session shared through a module cache) once a
        run is done with the method: the next method's peak memory is then its own."""

    def worst_score(self) -> float:
        """A score that ranks below every real one: used to keep an image from retrieving itself."""
        return np.inf if self.direction == "distance" else -np.inf

    def goodness(self, scores):
        """Scores turned so that higher is always more alike (a distance negated): the one place
        the direction is read, so nothing else tests it."""
        return scores if self.direction == "similarity" else -scores

    def perfect_score(self) -> float:
        """The score of an image against itself (1 for a similarity, 0 for a distance)."""
        return 1.0 if self.direction == "similarity" else 0.0

    def passes(self, scores, threshold):
        """Whether scores call a pair a duplicate at a threshold: at or above it (similarity), at
        or below it (distance). Arrays give arrays."""
        return self.goodness(scores) >= self.goodness(threshold)

    def looser(self, a: float, b: float) -> bool:
        """Whether threshold `a` calls more pairs duplicates than `b`."""
        return bool(self.goodness(a) < self.goodness(b))

    def score_in_words(self, score: float) -> str:
        """A score as a person reads it, with its scale and how alike it says the pair is: "pdq distance 2 of
        256 bits: near-identical", "sscd cosine 0.93: very similar" (the review page, the --html report)."""
        if self.score_bits:
            said, spread = f"{self.name} distance {score:g} of {self.score_bits} bits", float(self.score_bits)
        elif self.index_kind == "cosine":
            said, spread = f"{self.name} cosine {score:.2f}", 1.0  # 0: nothing in common, for these features
        else:
            return f"{self.name} {self.direction} {score:.4g}"  # no fixed scale: the number alone
        off = abs(score - self.perfect_score()) / spread
        alike = next(words for limit, words in SCORE_WORDS if off <= limit)
        return f"{said}: {alike}"

    def order(self, scores: np.ndarray) -> np.ndarray:
        """Indices from best to worst; a stable sort so ties keep the data set's order."""
        return np.argsort(-self.goodness(scores), kind="stable")


# How far from a perfect score, as a share of the score's scale, each wording goes.
SCORE_WORDS = ((0.03, "near-identical"), (0.10, "very similar"), (0.25, "similar"), (float("inf"), "loosely similar"))


def _source_files(cls: type) -> set[str]:
    files = {inspect.getsourcefile(k) for k in cls.__mro__ if k is not object}
    module = sys.modules.get(cls.__module__)
    package = __name__.rpartition(".")[0]
    for value in vars(module).values() if module else ():
        home = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(home, str) and home.startswith(f"{package}."):
            files.add(inspect.getsourcefile(sys.modules[home]))
    return {f for f in files if f}


def code_digest(cls: type) -> str:
    digest = hashlib.sha256()
    for path in sorted(_source_files(cls)):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def loop_prepare_many(method: Method, images: Sequence[Image.Image]) -> list[Any]:
    """One prepare call per image: the article's per-image work, done once each."""
    return [method.prepare(image) for image in images]


def loop_score_matrix(method: Method, A: Sequence[Any], B: Sequence[Any], same: bool = False) -> np.ndarray:
    """One score call per pair (each unordered pair once for a symmetric method when A is B)."""
    out = np.empty((len(A), len(B)), dtype=np.float64)
    for i, a in enumerate(A):
        start = i if same and method.symmetric else 0
        for j in range(start, len(B)):
            out[i, j] = method.score(a, B[j])
            if same and method.symmetric:
                out[j, i] = out[i, j]
    return out


def row_blocks(n_rows: int, bytes_per_row: int, budget: int = 256 << 20) -> list[slice]:
    """Slices of rows whose temporaries fit in `budget` bytes: bounded memory at any N."""
    step = max(1, budget // max(bytes_per_row, 1))
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]
