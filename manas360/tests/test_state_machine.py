"""The one state-machine helper: a closed table, one rule for a refused move."""

import pytest

from manas360.state_machine import StateMachine, TransitionRefused
from payments.models import Payment, PaymentStatus


class Refused(TransitionRefused):
    """An app's own refusal (its code left as the base's, so the error registry is not touched)."""


MACHINE = StateMachine("payment", {"pending": {"success"}, "success": set()}, refused=Refused)


def test_a_table_must_be_closed_and_without_loops():
    with pytest.raises(ValueError, match="bad moves from a"):
        StateMachine("thing", {"a": {"b"}})  # b is not a state
    with pytest.raises(ValueError, match="bad moves from a"):
        StateMachine("thing", {"a": {"a"}})  # staying put is not a move


def test_a_legal_move_sets_the_field_and_returns_the_state_left():
    payment = Payment(status=PaymentStatus.PENDING)
    assert MACHINE.can(payment, "success")
    assert MACHINE.transition(payment, "success") == "pending"
    assert payment.status == "success"


def test_a_refused_move_raises_the_machines_error_and_leaves_the_instance_alone():
    payment = Payment(status=PaymentStatus.SUCCESS)
    assert not MACHINE.can(payment, "pending")
    with pytest.raises(Refused) as refused:
        MACHINE.transition(payment, "pending")
    assert payment.status == "success"
    assert (refused.value.model, refused.value.from_state, refused.value.to_state) == ("payment", "success", "pending")
    assert refused.value.status_code == 409
    assert str(refused.value) == "A success payment cannot become pending."


def test_a_state_outside_the_table_moves_nowhere():
    payment = Payment(status="refunded")
    assert not MACHINE.can(payment, "success")
    with pytest.raises(Refused):
        MACHINE.transition(payment, "success")
    assert payment.status == "refunded"
