"""Rules of the rooms services: counters, points, the abandon command, seed, races."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from rooms import services
from rooms.errors import SessionAlreadyEnded
from rooms.models import RoomSession, RoomSessionStatus, Theme, ThemeTier
from rooms.seed import THEMES
from rooms.seed import run as seed_run
from rooms.tests.factories import RoomSessionFactory, ThemeFactory


def _open(user, theme, *, minutes_ago: float = 5, timer_seconds=None) -> RoomSession:
    return RoomSessionFactory(
        user=user, theme=theme, started_at=timezone.now() - timedelta(minutes=minutes_ago), timer_seconds=timer_seconds
    )


# --- theme counters ------------------------------------------------------------------------------------


def test_theme_counts_sessions_and_rates_only_rated_sessions(db):
    theme = ThemeFactory(tier=ThemeTier.FREE)
    for rating in (5, None, 3, None):
        session = _open(UserFactory(), theme)
        services.room_session_end(now=timezone.now(), user=session.user, session_id=session.pk, rating=rating)

    theme.refresh_from_db()
    assert theme.session_count == 4
    assert theme.rating_count == 2
    assert theme.rating_sum == 8
    assert theme.average_rating == 4.0  # unrated sessions do not drag the average down


def test_theme_rating_is_visible_in_the_list(api_client, db):
    theme = ThemeFactory(slug="rated", tier=ThemeTier.FREE)
    for rating in (4, 5, None):
        session = _open(UserFactory(), theme)
        services.room_session_end(now=timezone.now(), user=session.user, session_id=session.pk, rating=rating)

    card = api_client.get("/api/v1/themed-rooms/themes").json()["themes"][0]
    detail = api_client.get("/api/v1/themed-rooms/themes/rated").json()["data"]

    assert (card["sessions"], card["rating"]) == (3, 4.5)
    assert (detail["reviews"], detail["rating"]) == (2, 4.5)


def test_abandoned_sessions_do_not_count(db):
    theme = ThemeFactory()
    user = UserFactory()
    _open(user, theme, minutes_ago=60 * 5)

    services.room_sessions_close_abandoned(now=timezone.now())

    theme.refresh_from_db()
    assert (theme.session_count, theme.rating_count, theme.rating_sum) == (0, 0, 0)


# --- points --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "estimated", "full", "points"),
    [
        (59, 600, False, 0),
        (60, 600, False, 1),
        (299, 600, False, 4),
        (600, 600, True, 15),
        (7200, 600, True, 15),  # idle time past the plan earns nothing
        (7200, 90, False, 2),  # planned minutes round up
    ],
)
def test_points_formula(duration, estimated, full, points):
    assert (
        services.room_session_points(
            duration_seconds=duration, estimated_duration_seconds=estimated, completed_full_timer=full
        )
        == points
    )


def test_full_timer_bonus_needs_the_measured_time(db):
    theme = ThemeFactory(duration_seconds=600)
    early = _open(UserFactory(), theme, minutes_ago=2)
    finished = _open(UserFactory(), theme, minutes_ago=11)

    early_result = services.room_session_end(
        now=timezone.now(), user=early.user, session_id=early.pk, completed_full_timer=True
    )
    finished_result = services.room_session_end(now=timezone.now(), user=finished.user, session_id=finished.pk)

    assert (early_result.completed_full_timer, early_result.points) == (False, 2)
    assert (finished_result.completed_full_timer, finished_result.points) == (True, 15)


def test_end_twice_raises_and_keeps_counters(db):
    theme = ThemeFactory()
    session = _open(UserFactory(), theme)
    services.room_session_end(now=timezone.now(), user=session.user, session_id=session.pk, rating=2)

    with pytest.raises(SessionAlreadyEnded):
        services.room_session_end(now=timezone.now(), user=session.user, session_id=session.pk, rating=5)

    theme.refresh_from_db()
    assert (theme.session_count, theme.rating_count, theme.rating_sum) == (1, 1, 2)


# --- close_abandoned_sessions --------------------------------------------------------------------------


def test_command_closes_sessions_open_too_long_and_leaves_recent_ones(db):
    theme = ThemeFactory(duration_seconds=600)
    stale = _open(UserFactory(), theme, minutes_ago=60 * 4 + 1)
    recent = _open(UserFactory(), theme, minutes_ago=60 * 3)
    long_timer = _open(UserFactory(), theme, minutes_ago=60 * 5, timer_seconds=2 * 3600)  # 3 x 2 h = 6 h allowed
    done = RoomSessionFactory(
        theme=theme,
        status=RoomSessionStatus.COMPLETED,
        started_at=timezone.now() - timedelta(days=2),
        ended_at=timezone.now() - timedelta(days=2) + timedelta(minutes=10),
        duration_seconds=600,
        points=10,
    )
    out = StringIO()

    call_command("close_abandoned_sessions", stdout=out)

    assert "Closed 1 " in out.getvalue()
    stale.refresh_from_db()
    assert stale.status == RoomSessionStatus.ABANDONED
    assert stale.ended_at is not None
    assert stale.points == 0
    assert stale.duration_seconds is None
    for untouched in (recent, long_timer):
        untouched.refresh_from_db()
        assert untouched.status == RoomSessionStatus.IN_PROGRESS
    done.refresh_from_db()
    assert (done.status, done.points) == (RoomSessionStatus.COMPLETED, 10)


def test_command_hours_option_overrides_the_default_rule(db):
    theme = ThemeFactory()
    session = _open(UserFactory(), theme, minutes_ago=90)

    call_command("close_abandoned_sessions", "--hours", "1", stdout=StringIO())

    session.refresh_from_db()
    assert session.status == RoomSessionStatus.ABANDONED


def test_abandoned_session_can_no_longer_be_ended(db):
    session = _open(UserFactory(), ThemeFactory(), minutes_ago=60 * 5)
    services.room_sessions_close_abandoned(now=timezone.now())

    with pytest.raises(SessionAlreadyEnded):
        services.room_session_end(now=timezone.now(), user=session.user, session_id=session.pk, rating=5)


# --- seed ----------------------------------------------------------------------------------------------


def test_seed_is_idempotent_and_keeps_counters_and_editor_switches(db):
    seed_run(stdout=StringIO(), demo_accounts=False)
    Theme.objects.filter(slug="forest").update(is_active=False, session_count=7)
    uuids = dict(Theme.objects.values_list("slug", "uuid"))

    seed_run(stdout=StringIO(), demo_accounts=False)

    assert Theme.objects.count() == len(THEMES) == 9
    assert dict(Theme.objects.values_list("slug", "uuid")) == uuids
    forest = Theme.objects.get(slug="forest")
    assert (forest.is_active, forest.session_count) == (False, 7)
    assert set(Theme.objects.values_list("tier", flat=True)) == {"free", "premier", "plus"}
    assert list(Theme.objects.filter(is_real_ar=True).values_list("slug", flat=True)) == ["real-room-ar"]
    for theme in Theme.objects.all():
        assert theme.thumbnail_url.startswith("https://")
        assert all(item["url"].startswith("https://") for item in theme.videos + theme.audio_tracks)


# --- races (real concurrency against PostgreSQL) ---------------------------------------------------------


def _race(worker, count: int = 2):
    barrier = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def run():
        try:
            barrier.wait()
            outcome = worker()
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the test
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_ends_complete_once_and_count_once():
    theme = ThemeFactory()
    session = _open(UserFactory(), theme)

    results = _race(
        lambda: services.room_session_end(now=timezone.now(), user=session.user, session_id=session.pk, rating=4),
        count=4,
    )

    assert sum(isinstance(result, RoomSession) for result in results) == 1
    assert sum(isinstance(result, SessionAlreadyEnded) for result in results) == 3
    theme.refresh_from_db()
    assert (theme.session_count, theme.rating_count, theme.rating_sum) == (1, 1, 4)


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_leave_exactly_one_open_session():
    theme = ThemeFactory(tier=ThemeTier.FREE)
    user = UserFactory()

    results = _race(lambda: services.room_session_start(now=timezone.now(), user=user, theme_id=theme.slug), count=4)

    assert all(isinstance(result, RoomSession) for result in results), results
    assert RoomSession.objects.filter(user=user).count() == 4
    assert RoomSession.objects.filter(user=user, status=RoomSessionStatus.IN_PROGRESS).count() == 1
