"""One idiom for every model whose status only moves forward (payments, subscriptions, grants, mandates, renewals).

Each model declares its moves once, as a table `{from_state: {to_state, ...}}` in its app's `models.py`, wrapped
in a `StateMachine`. Every change of that field goes through `StateMachine.transition`, and the rule for a move
the table does not allow is always the same: it raises the machine's `TransitionRefused` (a 409 if it reaches a
view) and changes nothing on the instance. A caller for whom "already moved" is the normal case (a replayed
webhook, a job racing a callback) asks `can()` first; a caller answering a request lets the typed error through.
Side effects of a move (timestamps, the audit row) live in the app's one move function, after `transition`.

Code is the first guard, not the last: a bulk `update()` bypasses it, so the tables of money and entitlement rows
are repeated in PostgreSQL triggers (docs/architecture-decisions.md).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from manas360.api.errors import Conflict


class TransitionRefused(Conflict):
    """A move the model's table does not allow; nothing was changed. Subclasses carry an app's own code."""

    default_message = "The resource is not in a state that allows this."

    def __init__(
        self,
        message: str | None = None,
        *,
        model: str = "",
        from_state: str = "",
        to_state: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.model = model
        self.from_state = from_state
        self.to_state = to_state


class StateMachine:
    """The legal moves of one model's state field. Immutable: build it once at import time."""

    def __init__(
        self,
        model: str,
        transitions: Mapping[str, Iterable[str]],
        *,
        field: str = "status",
        refused: type[TransitionRefused] = TransitionRefused,
    ) -> None:
        self.model = model
        self.field = field
        self.refused = refused
        self.transitions: Mapping[str, frozenset[str]] = {
            str(source): frozenset(str(target) for target in targets) for source, targets in transitions.items()
        }
        for source, targets in self.transitions.items():
            # A closed table: every target is itself a state, and staying put is not a move.
            unknown = targets - self.transitions.keys()
            if unknown or source in targets:
                raise ValueError(f"{model}: bad moves from {source}: {sorted(unknown) or source}")

    def can(self, instance: models.Model, to_state: str) -> bool:
        """Whether `instance` may move to `to_state` now (from the state it holds in memory)."""
        return to_state in self.transitions.get(getattr(instance, self.field), frozenset())

    def transition(self, instance: models.Model, to_state: str) -> str:
        """Set the state field of `instance` (the caller saves it) and return the state it left.

        Raises `self.refused` for a move the table does not allow, leaving the instance untouched.
        """
        from_state: str = getattr(instance, self.field)
        if not self.can(instance, to_state):
            raise self.refused(
                f"A {from_state} {self.model} cannot become {to_state}.",
                model=self.model,
                from_state=from_state,
                to_state=to_state,
            )
        setattr(instance, self.field, to_state)
        return from_state

    def edges(self) -> set[tuple[str, str]]:
        """Every allowed (from, to) pair: what the diagrams in docs/ and the database triggers list."""
        return {(source, target) for source, targets in self.transitions.items() for target in targets}

    def final_states(self) -> set[str]:
        return {source for source, targets in self.transitions.items() if not targets}
