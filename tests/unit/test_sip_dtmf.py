"""DtmfCollector: digits accumulate, # submits, * clears, a leading 0 asks for a human."""

from __future__ import annotations

import pytest

from sip.dtmf import Cleared, DigitsSubmitted, DtmfAction, DtmfCollector, HumanRequested

pytestmark = pytest.mark.unit


def _press_all(collector: DtmfCollector, keys: str) -> list[DtmfAction]:
    return [action for key in keys if (action := collector.press(key)) is not None]


def test_digits_accumulate_until_hash_submits_them() -> None:
    collector = DtmfCollector()
    assert _press_all(collector, "512555") == []
    assert collector.pending == "512555"
    assert collector.press("#") == DigitsSubmitted("512555")
    assert collector.pending == ""


def test_zero_inside_an_entry_is_a_digit() -> None:
    collector = DtmfCollector()
    assert _press_all(collector, "2004#") == [DigitsSubmitted("2004")]


def test_zero_before_any_digit_asks_for_a_human_every_time() -> None:
    collector = DtmfCollector()
    assert collector.press("0") == HumanRequested()
    assert collector.pending == ""
    assert _press_all(collector, "0") == [HumanRequested()]
    # after a submit or a clear the next 0 is again the start of input
    assert _press_all(collector, "7#0") == [DigitsSubmitted("7"), HumanRequested()]
    assert _press_all(collector, "3*0") == [Cleared("3"), HumanRequested()]


def test_star_clears_what_was_typed() -> None:
    collector = DtmfCollector()
    assert _press_all(collector, "51*") == [Cleared("51")]
    assert _press_all(collector, "42#") == [DigitsSubmitted("42")]
    assert collector.press("*") == Cleared("")


def test_hash_with_nothing_typed_and_other_keys_are_ignored() -> None:
    collector = DtmfCollector()
    assert collector.press("#") is None
    assert _press_all(collector, "1A2BCD3 ") == []
    assert collector.pending == "123"
    assert collector.press("12") is None  # not one key
    assert collector.pending == "123"


def test_entry_length_is_bounded() -> None:
    collector = DtmfCollector(max_digits=4)
    assert _press_all(collector, "123456#") == [DigitsSubmitted("1234")]
    with pytest.raises(ValueError, match="max_digits"):
        DtmfCollector(max_digits=0)


def test_reset_drops_the_entry_in_progress() -> None:
    collector = DtmfCollector()
    _press_all(collector, "99")
    collector.reset()
    assert collector.press("0") == HumanRequested()
