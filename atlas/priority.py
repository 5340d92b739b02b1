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


AUTOGROUP = "/proc/self/autogroup"


def lower_session_priority(nice: int, autogroup: str = AUTOGROUP) -> int | None:
    """Lower this process's session's CPU share to `nice` when it leads the session alone (a daemon, a service).

    Linux shares the CPU between sessions first ("autogroups") and weighs nice values only within one, so a
    service's nice 10 alone still took half the CPU from the web server's session (measured: 3.0 s of 6 against
    0.6 s with the session's value set too). Returns the session's nice value now in force; None where there is
    no such group or the session is a shell's (changing it would slow the whole terminal).
    """
    if os.getsid(0) != os.getpid():
        return None
    try:
        with open(autogroup) as file:  # "/autogroup-42 nice 0"
            current = int(file.read().split()[-1])
        if nice > current:
            with open(autogroup, "w") as file:
                file.write(str(nice))
            current = nice
    except (OSError, ValueError, IndexError):
        return None
    return current
