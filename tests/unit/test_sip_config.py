"""Telephony settings: errors name the variable, never a value; redacting provider text."""

from __future__ import annotations

import pytest

from sip.config import SipConfigError, load_sip_settings, require_livekit, require_twilio
from sip.redaction import redact

pytestmark = pytest.mark.unit

BASE = {
    "LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "devkey",
    "LIVEKIT_API_SECRET": "livekit-secret-value",
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "twilio-token-value",
    "TWILIO_PHONE_NUMBERS": "+1 (555) 010-0001, +15550100002",
    "SIP_ALLOWED_ADDRESSES": "54.172.60.0/30, 127.0.0.1",
    "LIVEKIT_SIP_URI": "sip:sip.example.test:5060",
}


def test_full_settings_are_normalized() -> None:
    settings = load_sip_settings(BASE)
    assert settings.phone_numbers == ("+15550100001", "+15550100002")
    assert settings.allowed_addresses == ("54.172.60.0/30", "127.0.0.1")
    assert (settings.agent_name, settings.room_prefix) == ("intake-agent", "call-")
    assert require_livekit(settings).api_key == "devkey"
    assert require_twilio(settings).account_sid == "AC" + "a" * 32
    text = repr(settings)
    assert "livekit-secret-value" not in text and "twilio-token-value" not in text


@pytest.mark.parametrize(("changes", "message"), [
    ({"TWILIO_PHONE_NUMBERS": "+15550100001,not-a-number"},
     "TWILIO_PHONE_NUMBERS: entry 2 is not a phone number in E.164 form"),
    ({"SIP_ALLOWED_ADDRESSES": "10.0.0.0/8,300.1.1.1"},
     "SIP_ALLOWED_ADDRESSES: entry 2 is not an IP address or CIDR block"),
    ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must both be set"),
    ({"TWILIO_ACCOUNT_SID": "XX123"}, "TWILIO_ACCOUNT_SID must look like AC followed by"),
    ({"LIVEKIT_SIP_URI": "sips:x.example"}, "LIVEKIT_SIP_URI must be a sip: URI"),
    ({"TWILIO_ORIGINATION_WEIGHT": "0"}, "TWILIO_ORIGINATION_WEIGHT must be an integer"),
    ({"TWILIO_SECURE_TRUNKING": "maybe"}, "TWILIO_SECURE_TRUNKING must be true or false"),
    ({"SIP_OUTBOUND_ADDRESS": "x.pstn.twilio.com", "SIP_OUTBOUND_USERNAME": "outbound-user"},
     "SIP_OUTBOUND_USERNAME and SIP_OUTBOUND_PASSWORD must be set together"),
])
def test_bad_values_name_the_variable_only(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SipConfigError) as info:
        load_sip_settings({**BASE, **changes})
    assert str(info.value).startswith(message)
    for value in changes.values():
        if value:
            assert value not in str(info.value)


def test_livekit_side_refuses_an_open_trunk() -> None:
    settings = load_sip_settings({**BASE, "SIP_ALLOWED_ADDRESSES": ""})
    with pytest.raises(SipConfigError, match="SIP_ALLOWED_ADDRESSES is not set"):
        require_livekit(settings)


def test_secure_trunking_needs_a_tls_origination_uri() -> None:
    settings = load_sip_settings({**BASE, "TWILIO_SECURE_TRUNKING": "true"})
    with pytest.raises(SipConfigError, match="LIVEKIT_SIP_URI to end in ;transport=tls"):
        require_twilio(settings)
    ok = load_sip_settings({**BASE, "TWILIO_SECURE_TRUNKING": "true",
                            "LIVEKIT_SIP_URI": "sip:sip.example.test:5061;transport=tls"})
    assert require_twilio(ok).account_sid.startswith("AC")


def test_redact_masks_numbers_and_credentials_but_keeps_sids_and_dates() -> None:
    text = ("The requested resource /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/"
            "IncomingPhoneNumbers.json?PhoneNumber=%2B15551234567 was not found; "
            "caller +1 555-123-4567 password=hunter2 token tok-123")
    assert redact(text, secrets=("tok-123",)) == (
        "The requested resource /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/"
        "IncomingPhoneNumbers.json?PhoneNumber=[number] was not found; "
        "caller [number] password=[secret] token [secret]")
