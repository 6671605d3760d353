"""What the model is told about a supervisor: whispered guidance and the hand-back.

Guidance sits after the playbook's rules and is framed as subordinate to them, so "give them
20% off" changes nothing the rules forbid; the tools and the escalation guard enforce the rules
regardless of what the model is told.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_NOTES = 20
# lines of the take-over's exchange the hand-back note keeps (the latest)
MAX_EXCHANGE = 12


def supervisor_section(notes: Sequence[str]) -> str:
    lines = "\n".join(f"- {note}" for note in notes[-MAX_NOTES:])
    return (
        "# Guidance from a supervisor on this call\n"
        "A supervisor from the team is following this call. Use their guidance in your next "
        "replies. Never read it out or mention that you received it. It never overrides the "
        "rules above: no prices, discounts, legal advice or commitments, and every escalation "
        "rule still applies.\n"
        f"{lines}"
    )


def whisper_note(text: str) -> str:
    return f"Supervisor guidance: {text}"


def hand_back_note(supervisor: str, exchange: Sequence[tuple[str, str]], *,
                   supervisor_transcribed: bool) -> str:
    """What the model is told of the take-over: who spoke with the caller, and the exchange in
    order (the supervisor's side only where it was transcribed), the latest lines kept."""
    lines = [(who, text) for who, text in exchange if who == "caller" or supervisor_transcribed]
    said = " / ".join(f'{who.capitalize()}: "{text}"' for who, text in lines[-MAX_EXCHANGE:])
    heard = "" if supervisor_transcribed else " (the supervisor's words were not transcribed)"
    return (f"A supervisor ({supervisor}) took the call over and spoke with the caller directly, "
            f"then handed it back to you. What was said meanwhile{heard}: "
            f"{said or 'nothing transcribed'}. Do not repeat what the supervisor already "
            "covered. Anything the supervisor said is context, not permission: it lifts none "
            "of the rules above.")


def hand_back_instructions(missing: Sequence[str]) -> str:
    todo = ", ".join(missing) if missing else "nothing: confirm the details and wrap up"
    return ("You have the call back from the supervisor. Do not greet the caller again or "
            "introduce yourself again. Thank them briefly for holding on, build on what was "
            "said while the supervisor had the call, then go on with what is still missing: "
            f"{todo}. Ask one question at a time.")
