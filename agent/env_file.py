"""`.env` for every `intake` command: settings a developer keeps in a file, under the real
environment (a variable already set always wins).

Looked for in the current folder, then in the project's. `INTAKE_ENV_FILE` names another file;
set to an empty value it turns the file off (the test suite does, so a developer's `.env` never
leaks into a test).
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

ENV_FILE_VAR = "INTAKE_ENV_FILE"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def env_file() -> Path | None:
    """The `.env` to read, or None."""
    chosen = os.environ.get(ENV_FILE_VAR)
    if chosen is not None:
        return Path(chosen) if chosen.strip() and Path(chosen).is_file() else None
    for folder in (Path.cwd(), PROJECT_ROOT):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def load_env_file() -> Path | None:
    """Fill unset variables from the `.env`; returns the file read, if any."""
    path = env_file()
    if path is not None:
        load_dotenv(path, override=False)
    return path
