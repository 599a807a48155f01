"""The lifecycle state machine: legal paths pass, illegal steps are refused naming the current state."""

from __future__ import annotations

import pytest

from gmc.samples.lifecycle import (
    IllegalTransition,
    SampleState,
    allowed_next,
    check_transition,
    is_legal_path,
)


def test_the_whole_germline_journey_is_a_legal_path() -> None:
    path = ["collected", "in_transit", "received", "extracted", "qc_passed", "dispatched", "sequenced",
            "data_received", "archived", "destroyed"]
    assert is_legal_path(path)


def test_skipping_qc_is_illegal_and_names_the_current_state() -> None:
    with pytest.raises(IllegalTransition, match="is received: it cannot go to dispatched") as err:
        check_transition("received", "dispatched", barcode="S1234")
    assert "S1234" in str(err.value) and err.value.status_code == 409 and err.value.field == "to_state"
    assert isinstance(err.value, ValueError)


def test_destroyed_is_final_and_same_state_is_refused() -> None:
    assert allowed_next(SampleState.DESTROYED) == []
    with pytest.raises(IllegalTransition, match="none \\(it is final\\)"):
        check_transition("destroyed", "received")
    with pytest.raises(IllegalTransition, match="already collected"):
        check_transition("collected", "collected")


def test_returned_to_sender_can_come_back() -> None:
    assert is_legal_path(["collected", "in_transit", "returned_to_sender", "received"])
    assert not is_legal_path(["collected", "sequenced"])
