"""The word data a call's tools build on first use, loaded ahead of the call: in the
forkserver (`agent.job_preload`, shared by every job process) and again in each process's
prewarm, where it is already there unless the preload failed or calls run as threads."""

from __future__ import annotations

from datetime import date

import dateparser
import holidays
import simplemma


def load_word_data() -> None:
    # ~20 MB of simplemma's English lemmas, ~15 MB of dateparser's languages (~150 ms, better
    # paid here than inside a tool on the call's event loop), a few MB of holiday calendars
    simplemma.lemmatize("pipes", lang="en")
    dateparser.parse("next Friday", settings={"PREFER_DATES_FROM": "future"})
    holidays.country_holidays("US", years=date.today().year)
