"""This process's memory: its peak resident size (Linux's VmHWM), starting the count again, and giving
freed heap pages back, so that each method's peak in a benchmark is its own."""

from __future__ import annotations

import ctypes
import gc


def peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak() -> None:
    """Start the process's peak-memory count again from its current size (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # the peak is then the run's so far: still an upper bound


def give_back_memory() -> None:
    """Collect what the last method left and hand freed heap pages back to the system (glibc), so the
    next method's peak starts from what is really in use."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
