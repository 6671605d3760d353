"""Telephony: LiveKit SIP trunks and dispatch rules, Twilio Elastic SIP trunk provisioning,
call control behind `sip.call_control.SipCallControl` (dialing, cold transfer, move) and keypad
input (`sip.dtmf`).

Kept light on purpose (the CLI imports this package on every run): the provisioning modules,
`sip.livekit_provisioning` (`SipControl`) and `sip.twilio_provisioning` (`TrunkProvider`), are
imported where they are used.
"""

from __future__ import annotations

from sip.config import SipConfigError, SipSettings, load_sip_settings
from sip.plan import ProvisioningError, ProvisioningPlan, apply_plan

__all__ = [
    "ProvisioningError",
    "ProvisioningPlan",
    "SipConfigError",
    "SipSettings",
    "apply_plan",
    "load_sip_settings",
]
