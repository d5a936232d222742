"""Leases: a session's lock is a row naming its owner and when it expires, renewed while the run lives.

A store that acquires a session renews the lease from one daemon thread (every third of the lease),
so the run loop does nothing for it and a blocked event loop does not lose it. A process that dies
stops renewing, and its lease expires after at most `lease` seconds on any host; on the owner's own
host (same boot and pid namespace) a lease whose process is gone is taken over at once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """Who holds a session and until when.

    Attributes:
        owner: The holding run's id.
        expires: When the lease runs out unless renewed (a Unix time).
        host: The host name of the holding process.
        pid: Its process id.
        since: When it took the session (a Unix time).
    """

    owner: str
    expires: float
    host: str | None
    pid: int | None
    since: float


def here() -> tuple[str, int, str]:
    """(host name, pid, scope) of this process; the scope tells pid namespaces and boots apart."""
    return socket.gethostname(), os.getpid(), _scope()


def dead_here(host: str | None, pid: int | None, scope: str | None) -> bool:
    """Whether a lease was written by a process of this host and pid namespace that no longer exists."""
    if pid is None or (host, scope) != (socket.gethostname(), _scope()) or pid == os.getpid() or not scope:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@functools.cache
def _scope() -> str:
    """The boot id and pid namespace on Linux ("" elsewhere: then only expiry frees a lease)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            return f"{boot.read().strip()}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""


class Heartbeat:
    """Renews the leases a store holds, from one daemon thread that runs while any is held."""

    def __init__(self, renew: Callable[[dict[str, str]], None], interval: float) -> None:
        self._renew = renew
        self.interval = interval
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def holds(self, session_id: str) -> str | None:
        """The owner this store holds `session_id` for, or None."""
        with self._lock:
            return self._held.get(session_id)

    def add(self, session_id: str, owner: str) -> None:
        """Keep renewing `session_id`'s lease for `owner`."""
        with self._lock:
            self._held[session_id] = owner
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="agentkit-session-lease", daemon=True)
                self._thread.start()

    def remove(self, session_id: str, owner: str) -> None:
        """Stop renewing `session_id`'s lease (if `owner` holds it)."""
        with self._lock:
            if self._held.get(session_id) == owner:
                del self._held[session_id]
            if not self._held:
                self._wake.set()

    def _beat(self) -> None:
        while True:
            self._wake.wait(self.interval)
            with self._lock:
                self._wake.clear()
                held = dict(self._held)
                if not held:
                    self._thread = None
                    return
            with contextlib.suppress(Exception):  # a failed renewal is retried; a lost lease is caught on save
                self._renew(held)
