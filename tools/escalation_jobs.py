"""A trigger inside the caller's own job, or a family member's: "I'm a claims handler for a car
insurer", "I'm an emergency dispatcher so I'm used to calls like this", "my daughter works as a
customer service agent", "I used to be a receptionist for a plumbing firm", "I'm a solicitor
so I'm in court most days", "my daughter's fiance is a solicitor". The guard sets such a match
aside (tools/escalation.py), for any category; another trigger in the turn still fires ("I'm a
nurse and there's smoke in the hall").

The job is what follows "I'm a", "works as a", "used to be a" up to the clause's end or a word
that starts the next thing told ("so", "and", "but"); it must hold a word naming a job ("agent",
"handler", "dispatcher"), so "I'm a bit worried about the emergency lighting" is no job.
"""

from __future__ import annotations

from collections.abc import Sequence

# what opens a job: "I'm a", "works as a", "used to be an"
JOB_OPENERS = (("im",), ("i", "am"), ("works", "as"), ("work", "as"), ("worked", "as"),
               ("working", "as"), ("used", "to", "be"), ("is",), ("hes",), ("shes",))
ARTICLES = frozenset({"a", "an"})
# what ends the job's words: the next thing told
JOB_ENDS = frozenset({"so", "and", "but", "which", "who", "because", "myself", "if", "when"})
JOB_REACH = 7
JOB_NOUNS = frozenset({
    "adviser", "advisor", "agent", "handler", "dispatcher", "receptionist", "operator",
    "solicitor", "lawyer", "barrister", "attorney", "paralegal", "estimator", "nurse",
    "paramedic", "officer", "worker", "assistant", "clerk", "consultant", "broker", "adjuster",
    "teacher", "firefighter", "controller", "inspector", "accountant", "analyst", "assessor",
    "underwriter", "planner", "surveyor", "administrator", "coordinator", "investigator",
    "volunteer", "handlers", "agents", "secretary", "secretaries"})


def the_callers_job(tokens: Sequence[str], clauses: Sequence[int],
                    span: tuple[int, int]) -> bool:
    """The match lies inside a job the caller (or someone in the family) has or had."""
    first, last = span
    for start in range(max(0, first - JOB_REACH - 3), first):
        opener = next((cue for cue in JOB_OPENERS
                       if tuple(tokens[start:start + len(cue)]) == cue), None)
        if opener is None:
            continue
        at = start + len(opener)
        if at >= len(tokens) or tokens[at] not in ARTICLES:
            continue
        end = at + 1
        while (end < len(tokens) and end - at <= JOB_REACH and clauses[end] == clauses[at]
               and tokens[end] not in JOB_ENDS):
            end += 1
        if at < first and last < end and JOB_NOUNS.intersection(tokens[at + 1:end]):
            return True
    return False
