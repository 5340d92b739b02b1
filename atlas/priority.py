"""CPU priority of background work (indexer, imports): on a busy machine the web workers get the CPU first."""

from __future__ import annotations

import os
import threading


def lower_thread_priority(nice: int) -> int:
    """Raise the calling thread's nice value to `nice` (never lowers it); returns the value now in force."""
    if not hasattr(os, "setpriority"):
        return 0
    # On Linux the nice value belongs to the thread, and threads started from here (the model's) inherit it.
    tid = threading.get_native_id()
    current = os.getpriority(os.PRIO_PROCESS, tid)
    if nice > current:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError:
            return current
    return os.getpriority(os.PRIO_PROCESS, tid)
