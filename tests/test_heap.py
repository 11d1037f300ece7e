"""dupbench/images/heap.py: hash workers keep freed memory, so numpy's per-image temporaries stop
faulting their pages in again (counted as the kernel counts them, not timed)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from dupbench.engine import reads as ingest
from dupbench.images.decode import worker_pool

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# pdqhash's own luma of a 160x120 crop, 200 times, after 20 to settle: the minor page faults it took.
FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from dupbench.images.heap import keep_freed_memory
    assert keep_freed_memory()
a = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
def luma():
    return (a[:, :, 0] * 0.299 + a[:, :, 1] * 0.587 + a[:, :, 2] * 0.114).astype("float32")
for _ in range(20):
    luma()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    luma()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_kept_memory_ends_the_page_faults_of_repeated_temporaries():
    assert faults("default") > 2000  # each round faults its temporaries in again
    assert faults("keep") < 100


def cached_has(sha: str) -> bool:
    return sha in ingest._cached


def test_a_worker_process_still_runs_the_callers_initializer():
    with worker_pool(2, True, initializer=ingest.remember_cached, initargs=(frozenset({"abc"}),)) as pool:
        assert pool.submit(cached_has, "abc").result() and not pool.submit(cached_has, "xyz").result()
