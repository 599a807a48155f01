"""The sample lifecycle as an explicit state machine: which state may follow which."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from gmc.common.errors import Conflict


class SampleState(StrEnum):
    """Where a sample is in its life, from collection to sequencing data and disposal."""

    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    EXTRACTED = "extracted"
    QC_PASSED = "qc_passed"
    QC_FAILED = "qc_failed"
    DISPATCHED = "dispatched"
    SEQUENCED = "sequenced"
    DATA_RECEIVED = "data_received"
    ARCHIVED = "archived"
    DESTROYED = "destroyed"
    RETURNED_TO_SENDER = "returned_to_sender"


S = SampleState

#: The legal next states of each state; destroyed is terminal.
TRANSITIONS: dict[SampleState, frozenset[SampleState]] = {
    S.COLLECTED: frozenset({S.IN_TRANSIT, S.RECEIVED, S.DESTROYED}),
    S.IN_TRANSIT: frozenset({S.RECEIVED, S.RETURNED_TO_SENDER}),
    S.RECEIVED: frozenset({S.EXTRACTED, S.QC_PASSED, S.QC_FAILED, S.IN_TRANSIT, S.ARCHIVED, S.DESTROYED,
                           S.RETURNED_TO_SENDER}),
    S.EXTRACTED: frozenset({S.QC_PASSED, S.QC_FAILED, S.ARCHIVED, S.DESTROYED}),
    # A failed sample may be re-measured (e.g. after re-quantification) before it is given up.
    S.QC_FAILED: frozenset({S.QC_PASSED, S.ARCHIVED, S.DESTROYED}),
    S.QC_PASSED: frozenset({S.DISPATCHED, S.QC_FAILED, S.ARCHIVED, S.DESTROYED}),
    S.DISPATCHED: frozenset({S.SEQUENCED, S.RETURNED_TO_SENDER}),
    S.SEQUENCED: frozenset({S.DATA_RECEIVED}),
    S.DATA_RECEIVED: frozenset({S.ARCHIVED, S.DESTROYED}),
    # An archived sample goes back only to the state it left (see archived_from), or is destroyed: archiving is
    # never a way around QC to sequencing.
    S.ARCHIVED: frozenset({S.DESTROYED}),
    S.RETURNED_TO_SENDER: frozenset({S.RECEIVED, S.DESTROYED}),
    S.DESTROYED: frozenset(),
}

#: Human labels for pages.
STATE_LABELS: dict[SampleState, str] = {
    S.COLLECTED: "Collected", S.IN_TRANSIT: "In transit", S.RECEIVED: "Received", S.EXTRACTED: "Extracted",
    S.QC_PASSED: "QC passed", S.QC_FAILED: "QC failed", S.DISPATCHED: "Dispatched for sequencing",
    S.SEQUENCED: "Sequenced", S.DATA_RECEIVED: "Data received", S.ARCHIVED: "Archived", S.DESTROYED: "Destroyed",
    S.RETURNED_TO_SENDER: "Returned to sender",
}

#: States in which a sample still physically exists and can be stored.
PHYSICAL_STATES = frozenset(set(SampleState) - {S.DESTROYED, S.DISPATCHED, S.SEQUENCED, S.DATA_RECEIVED})


#: States reached only by recording QC measurements, never by a bare state change.
QC_STATES = frozenset({S.QC_PASSED, S.QC_FAILED})


class IllegalTransition(Conflict, ValueError):
    """A state change the lifecycle does not allow; the message names the current state."""


def parse_state(value: str, *, field: str = "state") -> SampleState:
    """The state named by value, or a clear error listing the states."""
    try:
        return SampleState(value.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in SampleState)
        raise IllegalTransition(f"unknown state {value!r}; states are: {known}", field=field) from None


def allowed_next(current: SampleState | str, archived_from: SampleState | str | None = None) -> list[SampleState]:
    """The states that may follow the current one, in lifecycle order (an archived sample: the state it left)."""
    nxt = set(TRANSITIONS[SampleState(current)])
    if SampleState(current) == S.ARCHIVED and archived_from:
        nxt.add(SampleState(archived_from))
    return [s for s in SampleState if s in nxt]


def manual_next(current: SampleState | str, archived_from: SampleState | str | None = None) -> list[SampleState]:
    """The states staff may move a sample to directly (QC verdicts come from recorded measurements; taking a
    sample out of the archive restores the one it had)."""
    return [s for s in allowed_next(current, archived_from)
            if s not in QC_STATES or SampleState(current) == S.ARCHIVED]


def check_transition(current: SampleState | str, target: SampleState | str, *, barcode: str = "",
                     archived_from: SampleState | str | None = None) -> None:
    """Raises IllegalTransition, naming the current state, unless current -> target is allowed."""
    current, target = SampleState(current), SampleState(target)
    if target in allowed_next(current, archived_from):
        return
    who = f"sample {barcode} " if barcode else "the sample "
    options = ", ".join(s.value for s in allowed_next(current, archived_from)) or "none (it is final)"
    if target == current:
        raise IllegalTransition(f"{who}is already {current.value}", field="to_state")
    raise IllegalTransition(f"{who}is {current.value}: it cannot go to {target.value}; next states: {options}",
                            field="to_state")


def is_legal_path(states: Iterable[SampleState | str]) -> bool:
    """True when each consecutive pair of states is an allowed transition."""
    seq = [SampleState(s) for s in states]
    return all(b in TRANSITIONS[a] for a, b in zip(seq, seq[1:], strict=False))
