"""A method's features of decoded files, in batches, on every core (the decoding is
dupbench/images/decode.py's): a hash decodes and prepares whole batches on each worker; a network
prepares on this thread while the workers decode the next batch."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PIL import Image

from dupbench.errors import UnreadableImage
from dupbench.images.decode import BATCH, PROCESSES_FROM, Decode, batches, decode_file, worker_pool
from dupbench.methods.base import Method


def prepare_batch(
    method: Method, files: Sequence[tuple[int, Path]], want: Decode, tolerant: bool
) -> tuple[list[int], Any, dict[int, str]]:
    """One batch decoded and prepared: (the indices prepared, their prepare_many, files that could
    not be decoded with the reason). Module-level: a process pool's worker runs it."""
    images, kept, bad = [], [], {}
    for i, path in files:
        try:
            images.append(decode_file(path, want))
            kept.append(i)
        except (UnreadableImage, OSError) as exc:
            if not tolerant:
                raise
            bad[i] = f"cannot read image {path}: {exc}"
    return kept, (method.prepare_many(images) if images else None), bad


def prepared_batches(
    method: Method,
    paths: Sequence[Path],
    indices: Sequence[int],
    want: Decode,
    workers: int,
    failed: dict[int, str] | None = None,
) -> Iterator[tuple[Sequence[int], Any]]:
    """(batch, its prepare_many) in order. A method that declares `parallel_prepare` decodes and
    prepares whole batches on every worker (a hash: Python and Pillow work, one core each; processes
    for a large folder); any other (a network, already on every core) prepares on this thread while
    the workers decode the next batch. With `failed`, a file that cannot be decoded is left out of its
    batch and recorded there (index -> reason) instead of stopping the run."""

    tolerant = failed is not None

    def decoded(i: int) -> Image.Image | UnreadableImage:
        try:
            return decode_file(paths[i], want)
        except (UnreadableImage, OSError) as exc:
            if not tolerant:
                raise
            return UnreadableImage(f"cannot read image {paths[i]}: {exc}")

    chunks = list(batches(indices, BATCH))
    processes = method.parallel_prepare and workers > 1 and len(indices) >= PROCESSES_FROM
    with worker_pool(workers, processes) as pool:
        if method.parallel_prepare:
            # `workers` batches in flight: every core busy, and a budget check after the first batch
            # does not wait for a queue behind it.
            def submit(chunk: Sequence[int]) -> Future:
                return pool.submit(prepare_batch, method, [(i, paths[i]) for i in chunk], want, tolerant)

            ahead = [submit(c) for c in chunks[:workers]]
            for number in range(len(chunks)):
                kept, part, bad = ahead[number].result()
                if number + workers < len(chunks):
                    ahead.append(submit(chunks[number + workers]))
                if failed is not None:
                    failed.update(bad)
                if kept:
                    yield kept, part
            return
        pending = [pool.submit(decoded, i) for i in chunks[0]] if chunks else []
        for number, chunk in enumerate(chunks):
            images = [future.result() for future in pending]
            pending = [pool.submit(decoded, i) for i in chunks[number + 1]] if number + 1 < len(chunks) else []
            kept = [i for i, image in zip(chunk, images) if not isinstance(image, UnreadableImage)]
            if failed is not None:
                failed.update((i, str(image)) for i, image in zip(chunk, images) if isinstance(image, UnreadableImage))
            if kept:
                yield kept, method.prepare_many([image for image in images if not isinstance(image, UnreadableImage)])


def start_workers_early(method: Method) -> None:
    """Start the process pools' fork server now, importing what a worker of `method` needs: the workers
    it forks later start with them loaded, their imports (~0.5 s) done while this process scans.
    For a method whose workers prepare (a hash) only: a network's modules stay out of the server.
    (Where fork_is_safe, the finder forks its workers from itself instead: worker_pool's `fork`.)"""
    if not method.parallel_prepare:
        return
    from multiprocessing import forkserver

    modules = ["__main__", "dupbench.engine.reads", type(method).__module__]
    multiprocessing.get_context("forkserver").set_forkserver_preload(modules)
    forkserver.ensure_running()
