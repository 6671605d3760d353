"""`python -m devstack services up|down|status`: the long-running local Postgres and Redis.

Used by scripts/bootstrap. They listen on loopback only, keep their data under .tools/var and
outlive this command (their pids are kept next to the data).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from devstack.paths import VAR_DIR, project_root
from devstack.processes import port_open
from devstack.services import PostgresServer, RedisServer, ToolMissingError

LOCAL_REDIS_PORT = 6381
LOCAL_POSTGRES_PORT = 5433
LOCAL_REDIS_URL = f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0"
LOCAL_DATABASE_URL = f"postgresql://intake:intake@127.0.0.1:{LOCAL_POSTGRES_PORT}/intake"


def _pidfile(name: str) -> Path:
    return VAR_DIR / f"{name}.pid"


def up() -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if port_open(LOCAL_REDIS_PORT):
        print(f"    redis already listening on 127.0.0.1:{LOCAL_REDIS_PORT}")
    else:
        redis = RedisServer(port=LOCAL_REDIS_PORT, data_dir=VAR_DIR / "redis")
        redis.start()
        _pidfile("redis").write_text(str(redis._process.pid if redis._process else ""))
        print(f"    redis started on 127.0.0.1:{LOCAL_REDIS_PORT}")
    if port_open(LOCAL_POSTGRES_PORT):
        print(f"    postgres already listening on 127.0.0.1:{LOCAL_POSTGRES_PORT}")
    else:
        postgres = PostgresServer(port=LOCAL_POSTGRES_PORT, data_dir=VAR_DIR / "postgres")
        postgres.start()
        _pidfile("postgres").write_text(str(postgres._process.pid if postgres._process else ""))
        print(f"    postgres started on 127.0.0.1:{LOCAL_POSTGRES_PORT} (database intake)")
    print(f"    INTAKE_REDIS_URL={LOCAL_REDIS_URL}")
    print("    INTAKE_DATABASE_URL=postgresql://intake:***@127.0.0.1:"
          f"{LOCAL_POSTGRES_PORT}/intake")
    if write_env_file(project_root() / ".env"):
        print("    wrote .env with both (every `intake` command reads it)")
    return 0


def write_env_file(path: Path) -> bool:
    """A first `.env` naming the local services, so `intake demo` keeps its record where
    `intake calls list` finds it. An existing file is the developer's: never touched."""
    if path.exists():
        return False
    path.write_text(
        "# Written by scripts/bootstrap for the local services; see .env.example for every key.\n"
        f"INTAKE_REDIS_URL={LOCAL_REDIS_URL}\n"
        f"INTAKE_DATABASE_URL={LOCAL_DATABASE_URL}\n")
    path.chmod(0o600)
    return True


def down() -> int:
    for name in ("redis", "postgres"):
        pidfile = _pidfile(name)
        if not pidfile.exists():
            continue
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.killpg(int(pidfile.read_text()), signal.SIGTERM)
        pidfile.unlink()
        print(f"    {name} stopped")
    time.sleep(0.5)
    return 0


def status() -> int:
    for name, port in (("redis", LOCAL_REDIS_PORT), ("postgres", LOCAL_POSTGRES_PORT)):
        print(f"    {name}: {'up' if port_open(port) else 'down'} (127.0.0.1:{port})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("what", choices=["services"])
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        return {"up": up, "down": down, "status": status}[args.action]()
    except ToolMissingError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
