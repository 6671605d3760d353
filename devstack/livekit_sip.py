"""livekit-sip for the local stack: SIP on loopback, bridged into a livekit-server over Redis.

livekit-sip and livekit-server never talk directly: the server's SIP API stores trunks and rules
and routes calls over Redis (psrpc), so both must be given the same Redis. The binary comes from
`.tools/bin` (built by scripts/bootstrap); INTAKE_TOOLS_BIN overrides that folder.
"""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from devstack.paths import TOOLS_BIN
from devstack.processes import ManagedProcess, free_port, wait_for_port
from devstack.services import DEV_API_KEY, DEV_API_SECRET, ToolMissingError, remove_temporary


def tools_bin() -> Path:
    override = os.environ.get("INTAKE_TOOLS_BIN", "").strip()
    return Path(override) if override else TOOLS_BIN


def free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP: livekit-sip listens on both for SIP signalling."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind((host, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both UDP and TCP on loopback")


RTP_PORTS = 200


def free_udp_range(size: int, host: str = "127.0.0.1") -> tuple[int, int]:
    """A run of `size` UDP ports that are free now, for RTP."""
    for _ in range(50):
        start = free_port()
        if start + size > 65535:
            continue
        socks: list[socket.socket] = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((host, port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free UDP port range for RTP on loopback")


@dataclass
class LiveKitSip:
    """One livekit-sip process bound to loopback. `sip_uri` is where a trunk sends INVITEs."""

    redis_address: str
    ws_url: str
    api_key: str = DEV_API_KEY
    api_secret: str = DEV_API_SECRET
    host: str = "127.0.0.1"
    sip_port: int = field(default_factory=free_udp_tcp_port)
    health_port: int = field(default_factory=free_port)
    rtp_ports: tuple[int, int] | None = None
    log_level: str = "info"
    log_path: Path | None = None
    workdir: Path | None = None
    _process: ManagedProcess | None = None
    _temporary_dir: Path | None = None

    @property
    def sip_uri(self) -> str:
        return f"sip:{self.host}:{self.sip_port}"

    @property
    def config_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "livekit-sip.yaml"

    def render_config(self) -> dict[str, Any]:
        rtp_start, rtp_end = self.rtp_ports or (0, 0)
        return {
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "ws_url": self.ws_url,
            "redis": {"address": self.redis_address},
            "sip_port": self.sip_port,
            "listen_ip": self.host,
            # no STUN lookups (the machine may be offline) and loopback addresses in SDP/Contact
            "use_external_ip": False,
            "nat_1_to_1_ip": self.host,
            "rtp_port": f"{rtp_start}-{rtp_end}",
            "health_port": self.health_port,
            # the whole local stack shares this machine's CPU: livekit-sip must not refuse to
            # dial out ("cpu exhausted") because tests or the worker are busy
            "max_cpu_utilization": 1.0,
            "logging": {"level": self.log_level, "json": False},
        }

    def start(self) -> None:
        binary = tools_bin() / "livekit-sip"
        if not binary.exists():
            raise ToolMissingError(f"livekit-sip not found in {binary.parent}; "
                                   "run scripts/bootstrap first")
        if self.rtp_ports is None:
            # livekit-sip v1.8.0 keeps one RTP port per finished call (seen after transferred
            # calls): a test session's few dozen SIP calls need room to spare
            self.rtp_ports = free_udp_range(RTP_PORTS, self.host)
        if self.workdir is None:
            self._temporary_dir = Path(tempfile.mkdtemp(prefix="intake-livekit-sip-"))
            self.workdir = self._temporary_dir
        self.workdir.mkdir(parents=True, exist_ok=True)  # started again after a stop
        yaml = YAML()
        with self.config_path.open("w") as fh:
            yaml.dump(self.render_config(), fh)
        self._process = ManagedProcess(
            "livekit-sip", [str(binary), "--config", str(self.config_path)],
            log_path=self.log_path or self.workdir / "livekit-sip.log",
            # its own settings come from the file only, never from a developer's LIVEKIT_* vars
            env={k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")},
        )
        self._process.start()
        # SIP over TCP shares the UDP port, so a TCP connect tells us the SIP server is up
        wait_for_port(self.sip_port, timeout=30, host=self.host, process=self._process.process,
                      name="livekit-sip")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        # its config holds the API secret
        remove_temporary(self._temporary_dir)

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    def tail(self, lines: int = 60) -> str:
        return self._process.tail(lines) if self._process else ""
