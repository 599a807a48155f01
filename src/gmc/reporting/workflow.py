"""The case workflow after interpretation as an explicit state machine (pure: no database)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a case is between interpretation and a closed, reported result."""

    AWAITING_REVIEW = "awaiting_review"
    IN_REVIEW = "in_review"
    AWAITING_CHECK = "awaiting_check"
    AWAITING_MDT = "awaiting_mdt"
    REPORTED = "reported"
    AMENDMENT_REQUESTED = "amendment_requested"
    REANALYSIS_REQUESTED = "reanalysis_requested"
    CLOSED = "closed"


class Action(StrEnum):
    """A move a user (or reanalysis) makes on a case."""

    START_REVIEW = "start_review"
    SUBMIT_FOR_CHECK = "submit_for_check"
    RETURN_FOR_CHANGES = "return_for_changes"
    AUTHORISE = "authorise"
    MDT_AGREE = "mdt_agree"
    REQUEST_AMENDMENT = "request_amendment"
    REQUEST_REANALYSIS = "request_reanalysis"
    REANALYSIS_UNCHANGED = "reanalysis_unchanged"
    CLOSE = "close"


S = State

#: action -> (states it may start from, state it leads to). AUTHORISE leads to AWAITING_MDT or REPORTED.
TRANSITIONS: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.START_REVIEW: (frozenset({S.AWAITING_REVIEW, S.AMENDMENT_REQUESTED, S.REANALYSIS_REQUESTED}), S.IN_REVIEW),
    Action.SUBMIT_FOR_CHECK: (frozenset({S.IN_REVIEW}), S.AWAITING_CHECK),
    Action.RETURN_FOR_CHANGES: (frozenset({S.AWAITING_CHECK, S.AWAITING_MDT}), S.IN_REVIEW),
    Action.AUTHORISE: (frozenset({S.AWAITING_CHECK}), None),
    Action.MDT_AGREE: (frozenset({S.AWAITING_MDT}), S.REPORTED),
    Action.REQUEST_AMENDMENT: (frozenset({S.REPORTED, S.CLOSED, S.REANALYSIS_REQUESTED}), S.AMENDMENT_REQUESTED),
    Action.REQUEST_REANALYSIS: (frozenset({S.REPORTED, S.CLOSED}), S.REANALYSIS_REQUESTED),
    Action.REANALYSIS_UNCHANGED: (frozenset({S.REANALYSIS_REQUESTED}), S.REPORTED),
    Action.CLOSE: (frozenset({S.REPORTED}), S.CLOSED),
}

#: How each state reads on pages.
LABELS: dict[State, str] = {
    S.AWAITING_REVIEW: "awaiting review", S.IN_REVIEW: "in review", S.AWAITING_CHECK: "awaiting check",
    S.AWAITING_MDT: "awaiting MDT", S.REPORTED: "reported", S.AMENDMENT_REQUESTED: "amendment requested",
    S.REANALYSIS_REQUESTED: "reanalysis requested", S.CLOSED: "closed",
}

#: States in which the report draft and findings may be edited (an edit after a signature voids it).
EDITABLE = frozenset({S.IN_REVIEW, S.AWAITING_CHECK, S.AWAITING_MDT})
#: States still counting against the turnaround target (no released report answers the referral yet).
OPEN_BEFORE_REPORT = frozenset({S.AWAITING_REVIEW, S.IN_REVIEW, S.AWAITING_CHECK, S.AWAITING_MDT})


class IllegalTransition(ValueError):
    """A move that the case's current state does not allow; the message names the state."""

    def __init__(self, state: State, action: Action) -> None:
        allowed = sorted(a.value.replace("_", " ") for a, (starts, _) in TRANSITIONS.items() if state in starts)
        super().__init__(f"the case is {LABELS[state]}: it cannot {action.value.replace('_', ' ')} "
                         f"(allowed now: {', '.join(allowed) or 'nothing'})")
        self.state = state
        self.action = action


def next_state(state: State | str, action: Action | str, *, mdt_required: bool = True) -> State:
    """The state a move leads to from this state, or IllegalTransition naming the current state."""
    state, action = State(state), Action(action)
    starts, target = TRANSITIONS[action]
    if state not in starts:
        raise IllegalTransition(state, action)
    if target is None:  # authorise: an MDT agrees first where the centre's rules say so
        return S.AWAITING_MDT if mdt_required else S.REPORTED
    return target


def allowed_actions(state: State | str) -> list[Action]:
    """The moves allowed from a state, in table order."""
    state = State(state)
    return [action for action, (starts, _) in TRANSITIONS.items() if state in starts]
