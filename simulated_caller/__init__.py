"""simulated_caller"""

from __future__ import annotations
