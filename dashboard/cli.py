"""`intake dashboard` and `intake users add|list|disable`. Passwords come from a prompt or
stdin, never argv (argv is visible to every process on the machine)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any


def register(subparsers: Any) -> None:
    dashboard = subparsers.add_parser("dashboard", help="serve the operator console")
    dashboard.add_argument("--host", help="bind address (default INTAKE_DASHBOARD_HOST or "
                           "127.0.0.1)")
    dashboard.add_argument("--port", type=int, help="port (default INTAKE_DASHBOARD_PORT or "
                           "8080)")
    dashboard.set_defaults(func=_cmd_dashboard)

    users = subparsers.add_parser("users", help="console accounts")
    sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add an account (password from a prompt or stdin)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=["operator", "supervisor", "admin"])
    add.set_defaults(func=_cmd_add)
    listing = sub.add_parser("list", help="list accounts")
    listing.set_defaults(func=_cmd_list)
    disable = sub.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("name", metavar="NAME")
    disable.set_defaults(func=_cmd_disable)


def _fail(message: str, code: int = 1) -> int:
    print(f"intake: {message}", file=sys.stderr)
    return code


def _cmd_dashboard(args: argparse.Namespace) -> int:
    import logging

    from dashboard.config import load_dashboard_settings
    from dashboard.server import serve
    from state.config import ConfigError

    try:
        settings = load_dashboard_settings(host=args.host, port=args.port)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    print(f"operator console on http://{settings.host}:{settings.port}/", flush=True)
    serve(settings)
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _with_accounts(action: Callable[[Any], Awaitable[int]]) -> int:
    from state.accounts import AccountStore
    from state.config import ConfigError, database_url
    from state.migrations import MigrationError, apply_migrations
    from state.postgres_record import PG_UNAVAILABLE, create_pool

    try:
        url = database_url()
    except ConfigError as exc:
        return _fail(str(exc), 2)

    async def run() -> int:
        await apply_migrations(url)
        pool = await create_pool(url, max_size=2)
        try:
            return await action(AccountStore(pool))
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except MigrationError as exc:
        return _fail(str(exc))
    except PG_UNAVAILABLE:
        return _fail("cannot reach the database at INTAKE_DATABASE_URL")


def _cmd_add(args: argparse.Namespace) -> int:
    from dashboard.auth import AccountInputError, check_account_input, hash_password
    from state.accounts import AccountExistsError

    name = args.name.strip().lower()
    try:
        password = _read_password()
        check_account_input(name, args.role, password)
    except (AccountInputError, ValueError) as exc:
        return _fail(str(exc), 2)
    password_hash = hash_password(password)

    async def action(accounts: Any) -> int:
        try:
            await accounts.create_user(name, args.role, password_hash)
        except AccountExistsError:
            return _fail(f"an account named {name} exists already")
        print(f"account {name} added ({args.role})")
        return 0

    return _with_accounts(action)


def _cmd_list(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        users = await accounts.list_users()
        if not users:
            print("no accounts")
            return 0
        print(f"{'NAME':<24} {'ROLE':<11} {'STATUS':<9} CREATED")
        for user in users:
            status = "active" if user.active else "disabled"
            print(f"{user.name:<24} {user.role:<11} {status:<9} "
                  f"{user.created_at:%Y-%m-%d %H:%M}")
        return 0

    return _with_accounts(action)


def _cmd_disable(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    name = args.name.strip().lower()

    async def action(accounts: Any) -> int:
        if not await accounts.disable_user(name, datetime.now(UTC)):
            return _fail(f"no account named {name}")
        print(f"account {name} disabled; its sessions ended")
        return 0

    return _with_accounts(action)
