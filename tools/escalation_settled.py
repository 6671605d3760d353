"""Pricing and legal words about paperwork that is settled or only asked about, set aside after
a playbook phrase matched (tools/escalation.py):

- `settled_price`: a quote, estimate, price, invoice or deposit the caller has already accepted,
  paid or reads from ("we signed your estimate on friday", "the invoice was paid last week",
  "the quotation says the skip is included", "we're happy with the price", "the estimate
  mentioned three days on site"); not "we're unhappy with the quote", "the quote said four
  hundred, is that per door" (an amount) nor "I'd be happy with a rough estimate" (no quote
  yet). Another pricing phrase in the turn still fires ("we accepted the quote, is there a
  discount if we pay cash").
- `warranty_offered`: a warranty, guarantee, insurance or contract asked a price of, or wanted
  for the caller's records ("what does the extended guarantee cost", "send over your insurance
  certificate for our files"); not one in dispute ("the warranty you sold me won't cover it",
  "you refused the warranty claim"). "Do you guarantee
  the work" stays legal, as the benchmark's earlier sets label it.
"""

from __future__ import annotations

from collections.abc import Sequence

PAPERS = frozenset({"quote", "quotes", "quoted", "quotation", "estimate", "estimates", "estimator",
                    "price", "prices", "invoice", "invoices", "deposit", "deposits"})
# the paper is done with: "we accepted", "the deposit's been paid", "my husband signed"
DONE = frozenset({"accepted", "signed", "paid", "agreed", "approved", "settled"})
# reading from it: "the quote says", "your quote mentioned the 14th" (right after the paper)
READS = frozenset({"says", "said", "mentioned", "mentions", "states", "stated", "shows"})
READS_REACH = 2  # "the quote says", "the estimate you sent said"
# "we're happy with", "the quote was fine": the caller's, not "I'd be happy with a quote" nor
# "happy to go ahead" (the quote may have seemed fair: a remark on the price)
CONTENT = frozenset({"happy", "fine", "good"})
CONTENT_AFTER = frozenset({"were", "im", "am", "are", "was", "is", "s", "all", "very", "quite",
                           "looks", "looked", "seemed", "really", "perfectly"})
# an amount or a grievance keeps it a price: "the quote said 500", "not happy with the price";
# a number of days or a date does not ("the estimate said two days", "it mentioned the 14th")
AMOUNTS = frozenset({"hundred", "thousand", "grand", "dollars", "pounds", "bucks", "quid",
                     "k", "more", "less", "extra", "double", "twice", "much", "too", "but",
                     "not", "never", "unhappy", "wrong", "overcharged"})
NUMBERS = frozenset({"one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                     "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                     "ninety"})
DURATIONS = frozenset({"day", "days", "week", "weeks", "month", "months", "hour", "hours"})
ORDINAL_ENDS = ("st", "nd", "rd", "th")
CLAUSE_REACH = 6

OFFERED = frozenset({"warranty", "warranties", "guarantee", "guarantees", "insurance",
                     "insurer", "insured", "liability", "contract"})
# priced: "how much extra for a longer warranty", "a quote I can send to my insurer"
PRICED = frozenset({"cost", "costs", "extra", "price", "fee", "quote", "quotes", "estimate",
                    "much"})
# kept: "for my records", "just for my landlord's paperwork" (not "the warranty paperwork says")
RECORDS = frozenset({"records", "files", "paperwork"})
RECORDS_FOR_REACH = 3
# a warranty in dispute: "covers that", "refused", "ignoring me", "chasing you for the cost"
DISPUTED = frozenset({"covers", "cover", "refuse", "refused", "refusing", "ignoring",
                      "ignored", "void", "voided", "honour", "honor", "honoured", "honored",
                      "claim", "claimed", "supposed", "broke", "broken", "failed", "chasing",
                      "not", "never", "wont", "didnt", "doesnt", "isnt", "lawyer", "damage",
                      "damaged", "fault", "faulty", "owe", "back", "because", "promised", "binding",
                      "cant"})


def settled_price(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]) -> bool:
    """A pricing match that is a quote or payment already settled, with no amount in dispute."""
    first, last = span
    if first != last or tokens[first] not in PAPERS:
        return False
    if AMOUNTS.intersection(tokens) or any(_an_amount(tokens, at) for at in range(len(tokens))):
        return False
    clause = clauses[first]
    near = [at for at in range(max(0, first - CLAUSE_REACH),
                               min(len(tokens), first + CLAUSE_REACH + 1))
            if clauses[at] == clause and at != first]
    if tokens[first] == "quoted" and DURATIONS.intersection(tokens[first + 1:first + 4]):
        return True  # "the builder quoted eight weeks": a time, not a price
    for at in near:
        word = tokens[at]
        if word in DONE:
            return True
        if word in READS and first < at <= first + READS_REACH + 1:
            return True
        if (word in CONTENT and at > 0 and tokens[at - 1] in CONTENT_AFTER
                and (word != "happy" or tokens[at + 1:at + 2] == ["with"])):
            return True
    return False


def _an_amount(tokens: Sequence[str], at: int) -> bool:
    """A number that is no date ("the 14th") and no length of time ("two days")."""
    word = tokens[at]
    if word[:1].isdigit():
        if word.endswith(ORDINAL_ENDS):
            return False
    elif word not in NUMBERS:
        return False
    return not DURATIONS.intersection(tokens[at + 1:at + 3])


def warranty_offered(tokens: Sequence[str], clauses: Sequence[int],
                     span: tuple[int, int]) -> bool:
    """A legal match that is a warranty or cover asked a price of, or kept for the records."""
    del clauses  # the price or the records are often said in another clause
    first, last = span
    if first != last or tokens[first] not in OFFERED or DISPUTED.intersection(tokens):
        return False
    if PRICED.intersection(tokens):
        return True
    return any(word in RECORDS and "for" in tokens[max(0, at - RECORDS_FOR_REACH):at]
               for at, word in enumerate(tokens))
