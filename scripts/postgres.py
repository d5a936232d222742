"""A throwaway Postgres cluster for the Postgres suite and the durable benchmark.

    python scripts/postgres.py          # start one, print its URL, stop it on Enter or Ctrl-C

`throwaway_cluster()` installs Debian's `postgresql` when `initdb` is missing (apt-get, as root),
then runs `initdb` and `pg_ctl start` in a temporary directory on a free loopback port, with
fsync off (a test cluster need not survive a power cut) and trust authentication on 127.0.0.1
only. Postgres refuses to run as root, so as root the cluster runs as the `postgres` user.
Starting one takes about 1.5 s; `pg_ctl stop -m immediate` and the directory go at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["pg_bin", "throwaway_cluster"]


def pg_bin() -> Path:
    """The directory of `initdb` and `pg_ctl`, installing Debian's `postgresql` if need be."""
    found = _find_bin()
    if found is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise RuntimeError(
                "Postgres is not installed and cannot be installed here: run "
                "`apt-get update && apt-get install -y postgresql` as root, or put initdb on PATH"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env, stdout=subprocess.DEVNULL)
        found = _find_bin()
        if found is None:
            raise RuntimeError("apt-get installed postgresql but no initdb was found under /usr/lib/postgresql")
    return found


def _find_bin() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))  # Debian keeps them off PATH
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A running cluster for the length of the block; yields a SQLAlchemy URL to its `postgres` db."""
    bindir = pg_bin()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else None
    root = Path(tempfile.mkdtemp(prefix="agentkit-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if user is not None:
        shutil.chown(root, user)
        shutil.chown(sockets, user)

    def run(*argv: str) -> None:
        command = [str(bindir / argv[0]), *argv[1:]]
        if user is not None:
            command = ["runuser", "-u", user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    port = _free_port()
    try:
        run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=200"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "30", "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    with throwaway_cluster() as url:
        print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt, EOFError):
            input() if sys.stdin.isatty() else sys.stdin.read()
