"""A real pgbouncer (Debian's package) in transaction mode, in front of the test server.

Started on a free local port from a temporary ini and userlist, stopped afterwards.
Outside CI a machine without the binary skips the tests that need it; under ``CI``
that is a failure (``.ci/run`` installs the package).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class NoPgbouncerError(RuntimeError):
    """pgbouncer is not installed, or cannot reach the test server."""


@dataclass(frozen=True, slots=True)
class Pgbouncer:
    url: str  # the test database, through pgbouncer
    version: tuple[int, int]


def binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise NoPgbouncerError("pgbouncer is not installed (apt-get install pgbouncer)")
    return found


def version(exe: str) -> tuple[int, int]:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"PgBouncer (\d+)\.(\d+)", out)
    if m is None:
        raise RuntimeError(f"cannot read pgbouncer's version from {out!r}")
    return int(m.group(1)), int(m.group(2))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@contextmanager
def running(database_url: str, *, pool_size: int = 2) -> Iterator[Pgbouncer]:
    """pgbouncer in transaction mode forwarding to ``database_url``'s server.

    ``pool_size``: server connections per database/user pair: fewer than the clients,
    so clients really share server connections between transactions.
    """
    exe = binary()
    ver = version(exe)
    params = conninfo_to_dict(database_url)
    user = str(params.get("user") or "postgres")
    host = str(params.get("host") or "127.0.0.1")
    port = str(params.get("port") or "5432")
    password = str(params.get("password") or "")
    if host.startswith("/") and os.geteuid() == 0:
        # pgbouncer drops root (-u) and cannot enter the private socket directory of an
        # embedded server: it needs a server over TCP, as CI's is.
        raise NoPgbouncerError(f"pgbouncer cannot reach a server on the private socket {host}")
    workdir = Path(tempfile.mkdtemp(prefix="multica-pgbouncer-"))
    workdir.chmod(0o755)  # pgbouncer drops root privileges (-u) before reading its files
    try:
        (workdir / "userlist.txt").write_text(f"{_quote(user)} {_quote(password)}\n")
        listen = _free_port()
        extra = "max_prepared_statements = 0\n" if ver >= (1, 21) else ""
        (workdir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={host} port={port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {listen}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {workdir / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 200\n"
            "ignore_startup_parameters = extra_float_digits\n" + extra
        )
        for f in workdir.iterdir():
            f.chmod(0o644)
        cmd = [exe]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            cmd += ["-u", "postgres" if _user_exists("postgres") else "nobody"]
        cmd.append(str(workdir / "pgbouncer.ini"))
        log = (workdir / "pgbouncer.log").open("w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = make_conninfo(database_url, host="127.0.0.1", port=str(listen))
            _wait_until_up(proc, url, workdir / "pgbouncer.log")
            yield Pgbouncer(url, ver)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll until a connection through pgbouncer answers (generous deadline)."""
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({proc.returncode}): {log.read_text()}")
        try:
            with psycopg.connect(url, connect_timeout=2, prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not answer: {log.read_text()}") from None
            time.sleep(0.05)  # polling a condition, not a fixed wait
