"""Reads about users (docs/api.md §3)."""

import uuid
from collections.abc import Callable
from datetime import datetime

from accounts.models import User
from accounts.roles import Role
from manas360.api.errors import NotFound


def user_get_visible(*, user_id: object, viewer: User) -> User:
    """A live user the viewer may see: themself, or anyone for an admin. Others and malformed ids: 404."""
    try:
        pk = uuid.UUID(str(user_id))
    except ValueError as exc:
        raise NotFound("User not found.") from exc
    if pk != viewer.pk and viewer.role != Role.ADMIN:
        raise NotFound("User not found.")
    target: User | None = User.objects.alive().filter(pk=pk).first()
    if target is None:
        raise NotFound("User not found.")
    return target


# Sections that apps built on accounts add to the profile (`GET /users/me`, `/users/:id`), registered from their
# AppConfig.ready(): accounts does not import them (subscriptions adds `subscription`).
_profile_sections: dict[str, Callable[..., object]] = {}


def profile_section_register(name: str, build: Callable[..., object]) -> None:
    """Add `name` to every profile, its value `build(user=user)`."""
    _profile_sections[name] = build


def profile_sections(*, user: User, now: datetime) -> dict[str, object]:
    return {name: build(user=user, now=now) for name, build in _profile_sections.items()}
