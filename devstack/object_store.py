"""versitygw: a real S3-compatible server for the recording store's tests and the local stack.

Built by scripts/bootstrap with `go install` (Apache-2.0). Objects are plain files under
`<data_dir>/<bucket>/<key>`; `--nometa` keeps it working on folders without xattrs (tmpfs).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from devstack.paths import TOOLS_BIN
from devstack.processes import ManagedProcess, free_port, wait_for_port
from devstack.services import _require

REGION = "us-east-1"


@dataclass
class VersityGateway:
    port: int = field(default_factory=free_port)
    access_key: str = field(default_factory=lambda: "intake" + secrets.token_hex(4))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    data_dir: Path | None = None
    region: str = REGION
    _process: ManagedProcess | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = _require(TOOLS_BIN / "versitygw", "versitygw (.tools/bin)")
        data_dir = self.data_dir or Path(tempfile.mkdtemp(prefix="intake-s3-"))
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._process = ManagedProcess(
            "versitygw",
            [binary, "--port", f"127.0.0.1:{self.port}", "--region", self.region, "--quiet",
             "posix", "--nometa", str(data_dir)],
            log_path=data_dir.parent / f"versitygw-{self.port}.log",
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                 "ROOT_ACCESS_KEY_ID": self.access_key,
                 "ROOT_SECRET_ACCESS_KEY": self.secret_key},
        )
        self._process.start()
        wait_for_port(self.port, timeout=20, process=self._process.process, name="versitygw")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
