"""The case state machine as a pure table: every legal move, and illegal ones refused naming the state."""

from __future__ import annotations

import pytest

from gmc.reporting.workflow import TRANSITIONS, Action, IllegalTransition, State, allowed_actions, next_state


def test_the_happy_path_with_and_without_an_mdt() -> None:
    state = State.AWAITING_REVIEW
    for action in (Action.START_REVIEW, Action.SUBMIT_FOR_CHECK, Action.AUTHORISE, Action.MDT_AGREE, Action.CLOSE):
        state = next_state(state, action, mdt_required=True)
    assert state == State.CLOSED
    assert next_state(State.AWAITING_CHECK, Action.AUTHORISE, mdt_required=False) == State.REPORTED
    assert next_state(State.AWAITING_CHECK, Action.AUTHORISE, mdt_required=True) == State.AWAITING_MDT


def test_amendment_and_reanalysis_go_back_through_review() -> None:
    assert next_state(State.REPORTED, Action.REQUEST_AMENDMENT) == State.AMENDMENT_REQUESTED
    assert next_state(State.AMENDMENT_REQUESTED, Action.START_REVIEW) == State.IN_REVIEW
    assert next_state(State.CLOSED, Action.REQUEST_REANALYSIS) == State.REANALYSIS_REQUESTED
    assert next_state(State.REANALYSIS_REQUESTED, Action.REANALYSIS_UNCHANGED) == State.REPORTED
    assert next_state(State.REANALYSIS_REQUESTED, Action.REQUEST_AMENDMENT) == State.AMENDMENT_REQUESTED


@pytest.mark.parametrize("state", list(State))
def test_every_illegal_move_is_refused_naming_the_current_state(state: State) -> None:
    legal = set(allowed_actions(state))
    for action in Action:
        if action in legal:
            next_state(state, action)
            continue
        with pytest.raises(IllegalTransition) as caught:
            next_state(state, action)
        assert f"the case is {state.value.replace('_', ' ').replace('mdt', 'MDT')}" in str(caught.value)
        assert action.value.replace("_", " ") in str(caught.value)


def test_every_state_is_reachable_and_closed_is_only_left_by_reanalysis_or_amendment() -> None:
    reachable = {State.AWAITING_REVIEW}
    for _starts, target in TRANSITIONS.values():
        reachable |= {target} if target else {State.AWAITING_MDT, State.REPORTED}
    assert reachable == set(State)
    assert set(allowed_actions(State.CLOSED)) == {Action.REQUEST_AMENDMENT, Action.REQUEST_REANALYSIS}
