"""glibc's allocator told to keep freed memory in a worker process (`keep_freed_memory`).

Why: numpy's temporaries of a few hundred KiB are allocated and freed per image; glibc gives the top
of the heap back to the system as soon as 128-256 KiB of it are free, so the next image's temporaries
fault their pages in again, and a page fault is expensive in these virtual machines. pdqhash's own
float64 luma of one 160x120 crop took 300-330 us this way, ~65 us with the memory kept (pdqhash.compute
600-670 us to ~300 us). Only the hash workers do this (a short-lived process of ~90 MiB, its
batches the same sizes over and over); the main process, which holds the largest arrays of a run
and whose peak is the run's, keeps glibc's defaults.
"""

from __future__ import annotations

import ctypes
import platform

M_TRIM_THRESHOLD = -1  # glibc's malloc.h: free memory at the heap's top before it is given back
M_MMAP_THRESHOLD = -3  # allocations from this size on are mapped (and unmapped when freed) on their own
KEEP = 64 * 1024 * 1024
MAPPED_FROM = 32 * 1024 * 1024  # glibc's own ceiling for its moving threshold


def keep_freed_memory(keep: int = KEEP) -> bool:
    """Up to `keep` bytes of freed memory kept by glibc's allocator, allocations below 32 MiB from the
    heap (False elsewhere: musl, macOS). Both settings: the threshold alone still left half of the
    faults (the first of each size mapped), the trim alone all of them."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's name on Linux (ctypes.util.find_library ran ldconfig: 4 ms)
        return bool(libc.mallopt(M_TRIM_THRESHOLD, keep)) and bool(libc.mallopt(M_MMAP_THRESHOLD, MAPPED_FROM))
    except (OSError, AttributeError):
        return False
