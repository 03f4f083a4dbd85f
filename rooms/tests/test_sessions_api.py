"""POST/GET /themed-rooms/sessions and PATCH /sessions/:id/end (docs/api.md §6, §11 Rooms)."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.tests.factories import UserFactory
from rooms.models import RoomSession, RoomSessionStatus, Theme
from rooms.tests.factories import RoomSessionFactory
from subscriptions.tests.factories import SubscriptionFactory

SESSIONS = "/api/v1/themed-rooms/sessions"


def _end_url(session_id) -> str:
    return f"{SESSIONS}/{session_id}/end"


def _start(client, theme_id, **extra):
    return client.post(SESSIONS, {"themeId": theme_id, **extra}, format="json")


# --- start -------------------------------------------------------------------------------------------


def test_free_theme_starts_without_a_subscription(auth_client, user, themes):
    response = _start(auth_client, "ocean-waves", moodBefore=4, timerSeconds=300, deviceInfo={"os": "android"})

    assert response.status_code == 201
    data = response.json()["data"]
    session = RoomSession.objects.get(user=user)
    assert data["id"] == data["sessionId"] == str(session.pk)
    assert data["themeId"] == "ocean-waves"
    assert data["estimatedDuration"] == 300
    assert data["videoUrl"] == themes["ocean-waves"].videos[0]["url"]
    assert data["audioUrl"] == themes["ocean-waves"].audio_tracks[0]["url"]
    assert data["startedAt"].endswith("Z")
    assert session.status == RoomSessionStatus.IN_PROGRESS
    assert session.mood_before == 4
    assert session.timer_seconds == 300
    assert session.device_info == {"os": "android"}


def test_start_accepts_the_theme_uuid_and_the_web_client_body(auth_client, user, themes):
    response = _start(auth_client, str(themes["calm-lake"].uuid))

    assert response.status_code == 201
    assert response.json()["data"]["themeId"] == "calm-lake"
    assert response.json()["data"]["estimatedDuration"] == themes["calm-lake"].duration_seconds


def test_premier_theme_without_subscription_is_402_and_creates_nothing(auth_client, themes):
    response = _start(auth_client, "green-tea")

    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "subscription_required"
    assert body["success"] is False
    assert RoomSession.objects.count() == 0


def test_plus_theme_with_a_premier_plan_is_403_with_required_feature_and_current_plan(make_auth_client, themes):
    subscriber = UserFactory()
    SubscriptionFactory(user=subscriber, plan__code="ar_premier")

    response = _start(make_auth_client(subscriber), "himalaya")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "feature_not_available"
    assert body["requiredFeature"] == "ar_plus_rooms"
    assert body["currentPlan"] == "ar_premier"
    assert RoomSession.objects.count() == 0


def test_premier_theme_with_the_free_healer_plan_is_403(make_auth_client, themes):
    subscriber = UserFactory()
    SubscriptionFactory(user=subscriber, plan__code="healer_free")

    response = _start(make_auth_client(subscriber), "sakura")

    assert response.status_code == 403
    assert response.json()["requiredFeature"] == "ar_premier_rooms"
    assert response.json()["currentPlan"] == "healer_free"


@pytest.mark.parametrize(
    ("plan_code", "theme_id"),
    [("ar_premier", "butterfly"), ("ar_plus", "forest"), ("ar_plus", "sakura"), ("premium_monthly", "real-room-ar")],
)
def test_paid_themes_open_with_a_plan_that_covers_them(make_auth_client, themes, plan_code, theme_id):
    subscriber = UserFactory()
    SubscriptionFactory(user=subscriber, plan__code=plan_code)

    response = _start(make_auth_client(subscriber), theme_id)

    assert response.status_code == 201
    assert RoomSession.objects.get(user=subscriber).theme.slug == theme_id


def test_expired_subscription_still_marked_active_counts_as_none(make_auth_client, themes):
    subscriber = UserFactory()
    SubscriptionFactory(user=subscriber, plan__code="premium_monthly", lapsed=True)

    response = _start(make_auth_client(subscriber), "forest")

    assert response.status_code == 402
    assert response.json()["code"] == "subscription_required"
    assert not RoomSession.objects.filter(user=subscriber).exists()


def test_non_active_subscription_counts_as_none(make_auth_client, themes):
    subscriber = UserFactory()
    SubscriptionFactory(user=subscriber, plan__code="premium_monthly", cancelled=True)

    assert _start(make_auth_client(subscriber), "forest").status_code == 402


@pytest.mark.parametrize("theme_id", ["no-such-theme", str(uuid.uuid4()), "../../etc"])
def test_unknown_theme_is_404(auth_client, themes, theme_id):
    response = _start(auth_client, theme_id)

    assert response.status_code == 404
    assert RoomSession.objects.count() == 0


def test_inactive_theme_cannot_be_started(auth_client, themes):
    Theme.objects.filter(slug="ocean-waves").update(is_active=False)

    assert _start(auth_client, "ocean-waves").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"themeId": "ocean-waves", "moodBefore": 11},
        {"themeId": "ocean-waves", "moodBefore": 0},
        {"themeId": "ocean-waves", "moodBefore": "happy"},
        {"themeId": "ocean-waves", "timerSeconds": -5},
        {"themeId": "ocean-waves", "sessionData": "not-an-object"},
    ],
)
def test_invalid_start_body_is_400_and_creates_nothing(auth_client, themes, body):
    response = auth_client.post(SESSIONS, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert RoomSession.objects.count() == 0


def test_starting_requires_sign_in(api_client, themes):
    response = _start(api_client, "ocean-waves")

    assert response.status_code == 401
    assert RoomSession.objects.count() == 0


def test_a_new_session_closes_the_previous_open_one_as_abandoned(auth_client, user, themes):
    first = _start(auth_client, "ocean-waves").json()["data"]["id"]

    second = _start(auth_client, "calm-lake").json()["data"]["id"]

    previous = RoomSession.objects.get(pk=first)
    assert previous.status == RoomSessionStatus.ABANDONED
    assert previous.ended_at is not None
    assert previous.points == 0
    assert RoomSession.objects.get(pk=second).status == RoomSessionStatus.IN_PROGRESS
    assert RoomSession.objects.filter(user=user, status=RoomSessionStatus.IN_PROGRESS).count() == 1


def test_a_refused_start_leaves_the_open_session_open(auth_client, user, themes):
    open_id = _start(auth_client, "ocean-waves").json()["data"]["id"]

    assert _start(auth_client, "forest").status_code == 402

    assert RoomSession.objects.get(pk=open_id).status == RoomSessionStatus.IN_PROGRESS


# --- read ----------------------------------------------------------------------------------------------


def test_start_get_end_flow_with_rating_mood_and_feedback(make_auth_client, user, themes):
    with time_machine.travel("2026-03-01T10:00:00Z", tick=False) as clock:
        auth_client = make_auth_client(user)  # tokens are issued on the travelled clock
        session_id = _start(auth_client, "ocean-waves", moodBefore=3, timerSeconds=600).json()["data"]["id"]

        clock.move_to("2026-03-01T10:04:00Z")
        read = auth_client.get(f"{SESSIONS}/{session_id}")
        assert read.status_code == 200
        data = read.json()["data"]
        assert data["status"] == "in_progress"
        assert data["startedAt"] == "2026-03-01T10:00:00Z"
        assert data["endedAt"] is None
        assert data["elapsedTime"] == 240
        assert data["estimatedDuration"] == 600
        assert data["completionPercentage"] == 40
        assert data["themeId"] == "ocean-waves"
        assert data["moodBefore"] == 3

        clock.move_to("2026-03-01T10:10:30Z")
        ended = auth_client.patch(
            _end_url(session_id),
            {"rating": 5, "moodAfter": 8, "feedback": "Very calming", "completedFullTimer": True},
            format="json",
        )
        assert ended.status_code == 200
        result = ended.json()["data"]
        assert result["sessionId"] == session_id
        assert result["completedAt"] == "2026-03-01T10:10:30Z"
        assert result["duration"] == 630
        assert result["rating"] == 5
        assert result["feedback"] == "Very calming"
        assert result["points"] == 10 + 5  # 10 planned minutes (capped) + full-timer bonus

        after = auth_client.get(f"{SESSIONS}/{session_id}").json()["data"]
        assert after["status"] == "completed"
        assert after["endedAt"] == "2026-03-01T10:10:30Z"
        assert after["elapsedTime"] == 630
        assert after["completionPercentage"] == 100
        assert after["moodAfter"] == 8

    session = RoomSession.objects.get(pk=session_id)
    assert (session.rating, session.mood_after, session.feedback, session.points) == (5, 8, "Very calming", 15)
    assert session.duration_seconds == 630
    assert session.completed_full_timer is True


def test_end_with_the_web_client_body_uses_server_duration_and_notes_as_feedback(make_auth_client, user, themes):
    with time_machine.travel("2026-03-01T10:00:00Z", tick=False) as clock:
        auth_client = make_auth_client(user)
        session_id = _start(auth_client, "calm-lake").json()["data"]["id"]
        clock.move_to("2026-03-01T10:03:20Z")

        response = auth_client.patch(_end_url(session_id), {"durationSeconds": 99999, "notes": "ok"}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["duration"] == 200  # measured by the server, not the client's 99999
    assert data["feedback"] == "ok"
    assert data["points"] == 3
    assert data["rating"] is None


def test_list_shows_only_the_callers_sessions_newest_first(auth_client, user, themes):
    other = RoomSessionFactory(theme=themes["calm-lake"])
    older = RoomSessionFactory(
        user=user,
        theme=themes["ocean-waves"],
        status=RoomSessionStatus.COMPLETED,
        started_at=timezone.now() - timedelta(hours=2),
        ended_at=timezone.now() - timedelta(hours=1),
        duration_seconds=3600,
    )
    newer = RoomSessionFactory(user=user, theme=themes["boat-ocean"])

    response = auth_client.get(SESSIONS)

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["data"]] == [str(newer.pk), str(older.pk)]
    assert str(other.pk) not in {item["id"] for item in body["data"]}
    assert body["pagination"]["total"] == 2


def test_session_list_query_count_does_not_grow_with_rows(auth_client, user, themes, django_assert_max_num_queries):
    for slug in ("ocean-waves", "calm-lake", "boat-ocean"):
        RoomSessionFactory(
            user=user,
            theme=themes[slug],
            status=RoomSessionStatus.ABANDONED,
            started_at=timezone.now() - timedelta(hours=5),
            ended_at=timezone.now(),
        )

    with django_assert_max_num_queries(6):
        response = auth_client.get(SESSIONS)

    assert len(response.json()["data"]) == 3


def test_another_users_session_is_404_to_read_and_to_end(auth_client, themes):
    foreign = RoomSessionFactory(theme=themes["ocean-waves"])

    read = auth_client.get(f"{SESSIONS}/{foreign.pk}")
    end = auth_client.patch(_end_url(foreign.pk), {"rating": 1}, format="json")

    assert read.status_code == 404
    assert end.status_code == 404
    assert end.json()["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.status == RoomSessionStatus.IN_PROGRESS
    assert foreign.rating is None


@pytest.mark.parametrize("session_id", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_malformed_or_unknown_session_id_is_404(auth_client, themes, session_id):
    assert auth_client.get(f"{SESSIONS}/{session_id}").status_code == 404
    assert auth_client.patch(_end_url(session_id), {}, format="json").status_code == 404


# --- end -----------------------------------------------------------------------------------------------


def test_second_end_is_409_and_changes_nothing(auth_client, themes):
    session_id = _start(auth_client, "ocean-waves").json()["data"]["id"]
    assert auth_client.patch(_end_url(session_id), {"rating": 4}, format="json").status_code == 200
    before = RoomSession.objects.get(pk=session_id)

    again = auth_client.patch(_end_url(session_id), {"rating": 1, "feedback": "changed"}, format="json")

    assert again.status_code == 409
    assert again.json()["code"] == "session_already_ended"
    after = RoomSession.objects.get(pk=session_id)
    assert (after.rating, after.feedback, after.ended_at) == (before.rating, before.feedback, before.ended_at)
    theme = Theme.objects.get(slug="ocean-waves")
    assert (theme.session_count, theme.rating_count, theme.rating_sum) == (1, 1, 4)


def test_ending_an_abandoned_session_is_409(auth_client, themes):
    first = _start(auth_client, "ocean-waves").json()["data"]["id"]
    _start(auth_client, "calm-lake")

    response = auth_client.patch(_end_url(first), {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "session_already_ended"


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 0},
        {"rating": 6},
        {"rating": 4.5},
        {"rating": "five"},
        {"moodAfter": 11},
        {"moodAfter": 0},
        {"rating": 5, "moodAfter": 11},
        {"completedFullTimer": "perhaps"},
        {"sessionData": [1, 2]},
    ],
)
def test_invalid_end_body_is_400_and_nothing_changes(auth_client, themes, body):
    session_id = _start(auth_client, "ocean-waves").json()["data"]["id"]

    response = auth_client.patch(_end_url(session_id), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    session = RoomSession.objects.get(pk=session_id)
    assert session.status == RoomSessionStatus.IN_PROGRESS
    assert (session.ended_at, session.rating, session.mood_after, session.points) == (None, None, None, 0)
    theme = Theme.objects.get(slug="ocean-waves")
    assert (theme.session_count, theme.rating_count, theme.rating_sum) == (0, 0, 0)


def test_end_merges_session_data(auth_client, themes):
    session_id = _start(auth_client, "ocean-waves", sessionData={"audio_enabled": True}).json()["data"]["id"]

    auth_client.patch(_end_url(session_id), {"sessionData": {"pausedCount": 2}}, format="json")

    assert RoomSession.objects.get(pk=session_id).session_data == {"audio_enabled": True, "pausedCount": 2}
