"""`python -m agent dev|start|console|connect`: LiveKit's worker CLI; anything else is `intake`."""

from __future__ import annotations

from agent.cli import main

raise SystemExit(main())
