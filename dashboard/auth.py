"""Sign-in: argon2 password hashes, server-side sessions, and a sign-in throttle.

A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie; Postgres keeps
its SHA-256, the account, the session's CSRF token and an absolute expiry. Disabling an
account deletes its sessions, and every request re-reads the session, so it ends at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from state.accounts import ROLES, AccountStore

SESSION_COOKIE = "intake_session"
LOGIN_CSRF_COOKIE = "intake_login_csrf"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD_CHARS = 10
GENERIC_LOGIN_ERROR = "Wrong account name or password."

_hasher = PasswordHasher()
# verified against when the account does not exist, so both paths cost one argon2 hash
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountInputError(ValueError):
    """A bad account name, role or password; the message says which rule."""


@dataclass(frozen=True)
class CurrentUser:
    user_id: int
    name: str
    role: str
    csrf_token: str


def check_account_input(name: str, role: str, password: str) -> None:
    if not NAME_PATTERN.match(name):
        raise AccountInputError("account names are 1-64 of a-z 0-9 . _ - (lower case), "
                                "starting with a letter or digit")
    if role not in ROLES:
        raise AccountInputError("role must be one of " + ", ".join(ROLES))
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountInputError(f"passwords need at least {MIN_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class LoginThrottle:
    """Failed sign-ins per account name and per client address in a sliding window.

    In memory, per dashboard process: several processes behind one name each count on their
    own (a limit N per process); the argon2 cost bounds guessing either way.
    """

    def __init__(self, per_name: int, window_s: float, *,
                 per_address: int | None = None) -> None:
        self.per_name = per_name
        self.per_address = per_address or per_name * 4
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._failures.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, name: str, address: str, now: float | None = None) -> float:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic() if now is None else now
        waits = []
        for key, limit in ((f"n:{name}", self.per_name), (f"a:{address}", self.per_address)):
            hits = self._recent(key, now)
            if len(hits) >= limit:
                waits.append(hits[0] + self.window_s - now)
        return max(waits, default=0.0)

    def failed(self, name: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in (f"n:{name}", f"a:{address}"):
            self._recent(key, now).append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            for key in [k for k, v in self._failures.items() if not v]:
                del self._failures[key]

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"n:{name}", None)


class SessionManager:
    """Creates, resolves and ends sessions over the account store."""

    def __init__(self, accounts: AccountStore, lifetime: timedelta) -> None:
        self.accounts = accounts
        self.lifetime = lifetime

    async def sign_in(self, name: str, password: str) -> str | None:
        """A new session token for good credentials, else None (whatever was wrong)."""
        account = await self.accounts.get_user(name) if NAME_PATTERN.match(name) else None
        ok = verify_password(account.password_hash if account else None, password)
        if not ok or account is None or not account.active:
            return None
        token = new_token()
        now = datetime.now(UTC)
        await self.accounts.delete_expired_sessions(now)  # indexed; keeps the table small
        await self.accounts.create_session(token_hash(token), account.user_id,
                                           secrets.token_urlsafe(32), now, now + self.lifetime)
        return token

    async def resolve(self, token: str | None) -> CurrentUser | None:
        if not token or len(token) > 100:
            return None
        info = await self.accounts.get_session(token_hash(token), datetime.now(UTC))
        if info is None:
            return None
        return CurrentUser(info.user_id, info.name, info.role, info.csrf_token)

    async def sign_out(self, token: str | None) -> None:
        if token:
            await self.accounts.delete_session(token_hash(token))
