"""The real servers of the local stack, each started from Debian's packages or `.tools/bin`."""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from devstack.paths import TOOLS_BIN, project_root
from devstack.processes import (
    ManagedProcess,
    free_port,
    free_udp_port,
    port_open,
    wait_for_port,
)


class ToolMissingError(RuntimeError):
    """A binary the stack needs is not installed; the message names the fix."""


def _require(path: Path | str | None, what: str) -> str:
    if path is None or not Path(path).exists():
        raise ToolMissingError(f"{what} not found; run scripts/bootstrap first")
    return str(path)


def _postgres_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(p.split("/")[4]))
    return _require(candidates[-1] if candidates else None, f"PostgreSQL's {name}")


@dataclass
class RedisServer:
    port: int = field(default_factory=free_port)
    data_dir: Path | None = None
    _process: ManagedProcess | None = None
    _temporary_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, detached_log: Path | None = None) -> None:
        binary = _require(shutil.which("redis-server"), "redis-server")
        if self.data_dir is None:
            self.data_dir = self._temporary_dir = Path(tempfile.mkdtemp(prefix="intake-redis-"))
        data_dir = self.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            "redis-server",
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(data_dir),
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            log_path=detached_log or data_dir / "redis.log",
        )
        self._process.start()
        wait_for_port(self.port, timeout=15, process=self._process.process, name="redis-server")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        remove_temporary(self._temporary_dir)

    def running(self) -> bool:
        return self._process is not None and self._process.running()


def remove_temporary(*paths: Path | None) -> None:
    """A stopped server's temporary folder goes with it: its data is test calls' records and
    its config holds the API secret, and nothing reads either after the stop."""
    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster on loopback with a project role and database."""

    port: int = field(default_factory=free_port)
    data_dir: Path | None = None
    user: str = "intake"
    password: str = "intake"
    database: str = "intake"
    _process: ManagedProcess | None = None
    _temporary_dir: Path | None = None

    @property
    def dsn(self) -> str:
        return (f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}")

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self) -> list[str]:
        # initdb and postgres refuse to run as root, so the server runs as Debian's postgres user
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"]
        return []

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for root, dirs, files in os.walk(path):
                os.chown(root, entry.pw_uid, entry.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        initdb = _postgres_bin("initdb")
        postgres = _postgres_bin("postgres")
        if self.data_dir is None:
            self.data_dir = self._temporary_dir = Path(tempfile.mkdtemp(prefix="intake-pg-"))
            # not at stop: a stopped cluster is started again with its data (outage tests)
            atexit.register(self._discard)
        data_dir = self.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # the postgres user must be able to reach the data directory
            probe = data_dir
            while probe != probe.parent:
                probe.chmod(probe.stat().st_mode | 0o011) if probe.stat().st_uid == 0 else None
                probe = probe.parent
        self._chown(data_dir)
        if not (data_dir / "PG_VERSION").exists():
            pwfile = data_dir.parent / f".{data_dir.name}.pw"
            pwfile.write_text(self.password + "\n")
            self._chown(pwfile)
            try:
                subprocess.run(
                    [*self._as_owner(), initdb, "-D", str(data_dir), "-U", self.user,
                     "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8",
                     "--no-instructions"],
                    check=True, capture_output=True,
                )
            finally:
                pwfile.unlink(missing_ok=True)
        socket_dir = data_dir / "socket"
        socket_dir.mkdir(exist_ok=True)
        self._chown(socket_dir)
        self._process = ManagedProcess(
            "postgres",
            [*self._as_owner(), postgres, "-D", str(data_dir), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={socket_dir}",
             "-c", "fsync=off", "-c", "max_connections=200"],
            log_path=data_dir.parent / f"{data_dir.name}.log",
        )
        self._process.start()
        wait_for_port(self.port, timeout=30, process=self._process.process, name="postgres")
        self._wait_ready()
        self._ensure_database(self.database)

    def _psql(self, sql: str, database: str = "postgres") -> str:
        psql = shutil.which("psql") or _postgres_bin("psql")
        env = {**os.environ, "PGPASSWORD": self.password}
        out = subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database,
             "-tAc", sql], check=True, capture_output=True, env=env, text=True,
        )
        return out.stdout.strip()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._psql("select 1")
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _ensure_database(self, name: str) -> None:
        if self._psql(f"select 1 from pg_database where datname = '{name}'") != "1":
            self._psql(f'create database "{name}"')

    def create_database(self, name: str) -> str:
        self._psql(f'drop database if exists "{name}" with (force)')
        self._psql(f'create database "{name}"')
        return self.dsn_for(name)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

    def _discard(self) -> None:
        """At exit: the temporary cluster and its log go (stopped first if still running)."""
        if self._temporary_dir is None:
            return
        if self.running():
            self.stop()
        remove_temporary(self._temporary_dir,
                         self._temporary_dir.parent / f"{self._temporary_dir.name}.log")
        self._temporary_dir = None

    def running(self) -> bool:
        return self._process is not None and self._process.running()


# The local stack's LiveKit key pair, as in livekit.yaml and sip/livekit-sip.yaml. The secret
# signs every token (HMAC-SHA256), so it has the 32 bytes PyJWT asks for.
DEV_API_KEY = "devkey"
DEV_API_SECRET = "intake-dev-secret-for-loopback-only-0001"

@dataclass
class LiveKitServer:
    """livekit-server in dev mode (livekit.yaml's dev key and secret), on loopback."""

    redis_address: str | None = None
    port: int = 7880
    rtc_tcp_port: int = 7881
    rtc_udp_port: int = 7882
    config_path: Path = field(default_factory=lambda: project_root() / "livekit.yaml")
    log_path: Path | None = None
    api_key: str = DEV_API_KEY
    api_secret: str = DEV_API_SECRET
    _process: ManagedProcess | None = None
    _workdir: Path | None = None

    pick_free_ports: bool = False

    @classmethod
    def on_free_ports(cls, redis_address: str | None = None) -> LiveKitServer:
        return cls(redis_address=redis_address, port=free_port(), rtc_tcp_port=free_port(),
                   rtc_udp_port=free_udp_port(), pick_free_ports=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render_config(self) -> dict[str, Any]:
        yaml = YAML(typ="safe")
        config: dict[str, Any] = yaml.load(self.config_path.read_text())
        config["port"] = self.port
        config.setdefault("rtc", {})
        config["rtc"]["tcp_port"] = self.rtc_tcp_port
        config["rtc"]["udp_port"] = self.rtc_udp_port
        config["rtc"].pop("port_range_start", None)
        config["rtc"].pop("port_range_end", None)
        if self.redis_address:
            config["redis"] = {"address": self.redis_address}
        else:
            config.pop("redis", None)
        config["keys"] = {self.api_key: self.api_secret}
        return config

    def start(self) -> None:
        # a free port can be taken between picking and binding (WebRTC clients open UDP
        # sockets all the time); with ports of our own choosing, pick again and retry
        attempts = 3 if self.pick_free_ports else 1
        for attempt in range(attempts):
            try:
                self._start_once()
                return
            except RuntimeError:
                if attempt + 1 == attempts or "address already in use" not in self.tail():
                    raise
                self.port, self.rtc_tcp_port = free_port(), free_port()
                self.rtc_udp_port = free_udp_port()

    def _start_once(self) -> None:
        binary = _require(TOOLS_BIN / "livekit-server", "livekit-server (.tools/bin)")
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; is another livekit-server "
                               "running?")
        remove_temporary(self._workdir)  # a failed attempt's
        workdir = self._workdir = Path(tempfile.mkdtemp(prefix="intake-livekit-"))
        config_file = workdir / "livekit.yaml"
        yaml = YAML()
        with config_file.open("w") as fh:
            yaml.dump(self.render_config(), fh)
        self._process = ManagedProcess(
            "livekit-server", [binary, "--dev", "--config", str(config_file)],
            log_path=self.log_path or workdir / "livekit-server.log",
        )
        self._process.start()
        wait_for_port(self.port, timeout=30, process=self._process.process,
                      name="livekit-server")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        remove_temporary(self._workdir)
        self._workdir = None

    def tail(self) -> str:
        return self._process.tail() if self._process else ""
