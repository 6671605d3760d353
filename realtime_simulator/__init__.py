"""realtime_simulator"""

from __future__ import annotations
