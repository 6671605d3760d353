from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    override = os.environ.get("INTAKE_PROJECT_ROOT")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent


TOOLS_BIN = project_root() / ".tools" / "bin"
VAR_DIR = project_root() / ".tools" / "var"
