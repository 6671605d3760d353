"""`intake provision plan|apply`: make LiveKit's and Twilio's SIP setup match the settings.

`plan` reads both sides (checking the credentials) and prints what would change; `apply` does the
same, then makes the changes, rolling back this run's changes if one fails. Output names
resources and phone numbers but never credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sip.config import SipSettings

SIDES = ("livekit", "twilio")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "provision", help="LiveKit SIP trunks/dispatch rule and the Twilio Elastic SIP trunk",
        description=__doc__)
    actions = parser.add_subparsers(dest="provision_action", metavar="ACTION", required=True)
    for name, handler, text in (
        ("plan", _plan, "show what apply would change (reads only)"),
        ("apply", _apply, "make the changes; a second run changes nothing"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--only", choices=SIDES,
                            help="one side only (default: every side whose credentials are set)")
        action.set_defaults(func=handler)


def _plan(args: argparse.Namespace) -> int:
    return _run(args, apply=False)


def _apply(args: argparse.Namespace) -> int:
    return _run(args, apply=True)


def _run(args: argparse.Namespace, *, apply: bool) -> int:
    from sip.config import SipConfigError, load_sip_settings, require_livekit, require_twilio
    from sip.plan import ProvisioningError

    try:
        settings = load_sip_settings()
        sides = [args.only] if args.only else [
            side for side, creds in (("livekit", settings.livekit), ("twilio", settings.twilio))
            if creds is not None]
        if not sides:
            raise SipConfigError("nothing to provision: set LIVEKIT_URL/LIVEKIT_API_KEY/"
                                 "LIVEKIT_API_SECRET and/or TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN")
        if "livekit" in sides:
            require_livekit(settings)
        if "twilio" in sides:
            require_twilio(settings)
    except SipConfigError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return 2
    try:
        output = asyncio.run(_provision(settings, sides, apply=apply))
    except ProvisioningError as exc:
        print(f"intake: provision {'apply' if apply else 'plan'} failed: {exc}", file=sys.stderr)
        return 1
    print(output)
    return 0


async def _provision(settings: SipSettings, sides: list[str], *, apply: bool) -> str:
    from sip.livekit_provisioning import plan_livekit
    from sip.livekit_sip_api import LiveKitSipControl
    from sip.plan import ProvisioningPlan, apply_plan
    from sip.twilio_provisioning import plan_twilio
    from sip.twilio_trunk_api import TwilioTrunkProvider

    plan = ProvisioningPlan()
    async with contextlib.AsyncExitStack() as stack:
        # every side is read (and its credentials checked) before anything is written
        if "livekit" in sides and settings.livekit is not None:
            control = await stack.enter_async_context(LiveKitSipControl(settings.livekit))
            plan.extend(await plan_livekit(control, settings))
        if "twilio" in sides and settings.twilio is not None:
            plan.extend(await plan_twilio(TwilioTrunkProvider(settings.twilio), settings))
        text = plan.render()
        if not apply:
            return text
        if plan.is_empty:
            return text + "\nNothing to apply."
        result = await apply_plan(plan)
        return text + f"\nApplied {len(result.applied)} change(s)."
