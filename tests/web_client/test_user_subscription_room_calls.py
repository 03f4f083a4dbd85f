"""Calls 7-9 and the declared d1-d6 of docs/web-client.md, sent as the React app sends them."""

import pytest

from accounts.models import User
from payments.models import Payment
from rooms.models import RoomSession
from subscriptions.models import Plan, Subscription
from tests.web_client.conftest import WebApp

pytestmark = pytest.mark.django_db

PLAYER_SLUGS = {"boat-ocean", "green-tea", "butterfly", "ocean-waves", "sakura", "forest", "himalaya", "calm-lake"}


def _me(app) -> User:
    return User.objects.get(pk=app.get("/users/me").json()["data"]["id"])


# 7. GET /users/me (on load, only with the csrf_token cookie): reads data (or user) -> role, email, adminMetadata
def test_7_users_me_on_page_load(patient_app):
    response = patient_app.get("/users/me")
    assert response.status_code == 200
    assert patient_app.sent[-1]["headers"]["HTTP_X_CSRF_TOKEN"] == patient_app.cookie("csrf_token")
    body = response.json()
    assert body["data"] == body["user"]
    assert body["data"]["role"] == "patient"
    assert "email" in body["data"]
    assert isinstance(body["data"]["adminMetadata"]["permissions"], list)


def test_7_users_me_anonymous_is_401(web_app):
    # The app never sends it without the cookie; with a stale cookie it gets a 401 and tries to refresh.
    web_app.browser.cookies["csrf_token"] = "stale"
    assert web_app.get("/users/me").status_code == 401


# 8. GET /subscriptions/current: reads subscription.status and subscription.features[]; 404 = none
def test_8_current_subscription_none(patient_app):
    response = patient_app.get("/subscriptions/current")
    # Deliberate: 200 with `subscription: null` (docs/api.md §4) rather than 404; the app ends up with null either way.
    assert response.status_code == 200
    assert response.json()["subscription"] is None


def test_8_current_subscription_active_reads_status_and_features(patient_app):
    user = _me(patient_app)
    plan = Plan.objects.get(code="premium_monthly")
    from django.utils import timezone

    Subscription.objects.create(
        user=user, plan=plan, status="active", start_date=timezone.now(), end_date=timezone.now() + plan_duration(plan)
    )
    body = patient_app.get("/subscriptions/current").json()
    assert body["subscription"]["status"] == "active"
    assert isinstance(body["subscription"]["features"], list)
    assert all(isinstance(feature, str) for feature in body["subscription"]["features"])
    assert "premium_themed_rooms" in body["subscription"]["features"]


def plan_duration(plan):
    from datetime import timedelta

    return timedelta(days=plan.duration_days)


# 9. GET /themed-rooms/themes (anonymous or signed in): reads themes[] -> id, title, thumbnail, icon, tier, isRealAR
@pytest.mark.parametrize("signed_in", [False, True])
def test_9_theme_wall(signed_in, reference_data):
    app = WebApp()
    if signed_in:
        app.otp_login("9876501234")
    response = app.get("/themed-rooms/themes")
    assert response.status_code == 200
    themes = response.json()["themes"]
    assert isinstance(themes, list)
    for theme in themes:
        assert isinstance(theme["id"], str)
        assert isinstance(theme["title"], str)
        assert theme["title"]
        assert isinstance(theme["thumbnail"], str)
        assert theme["thumbnail"].startswith("https://")
        assert isinstance(theme["icon"], str)
        assert theme["icon"]
        assert theme["tier"] in {"free", "premier", "plus"}  # anything else is never shown
        assert isinstance(theme["isRealAR"], bool)
    ids = {theme["id"] for theme in themes}
    assert ids >= PLAYER_SLUGS  # the player has media for exactly these slugs
    assert next(theme for theme in themes if theme["id"] == "real-room-ar")["isRealAR"] is True


# d1. GET /users/{userId}
def test_d1_get_user_by_id_self_and_other(patient_app):
    me = _me(patient_app)
    assert patient_app.get(f"/users/{me.pk}").json()["data"]["id"] == str(me.pk)
    other = User.objects.create(phone_number="+919876509999")
    assert patient_app.get(f"/users/{other.pk}").status_code == 404


# d2. PATCH /users/me with a profile object
def test_d2_update_profile(patient_app):
    response = patient_app.patch("/users/me", {"firstName": "Asha", "lastName": "Rao", "language": "hi"})
    assert response.status_code == 200
    assert response.json()["data"]["fullName"] == "Asha Rao"
    assert _me(patient_app).language == "hi"


def test_d2_update_profile_cannot_change_role(patient_app):
    response = patient_app.patch("/users/me", {"role": "admin"})
    assert response.status_code == 403
    assert response.json()["code"] == "field_not_allowed"
    assert _me(patient_app).role == "patient"


# d3. GET /subscriptions/plans
def test_d3_plans(web_app, reference_data):
    plans = web_app.get("/subscriptions/plans").json()["data"]
    assert {"premium_monthly", "premium_yearly", "anytimebuddy_lifetime", "track_single"} <= {p["id"] for p in plans}


# d4. POST /payments/create {planId} with the app's slugs
@pytest.mark.parametrize("slug", ["premium_monthly", "premium_yearly", "anytimebuddy_lifetime", "track_single"])
def test_d4_payment_create_with_slug(patient_app, phonepe, slug):
    response = patient_app.post("/payments/create", {"planId": slug})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["data"]["status"] == "pending"
    assert body["data"]["redirectUrl"].startswith(phonepe.url)
    assert isinstance(body["data"]["transactionId"], str)
    # The dead paymentIntegration.ts reads redirectUrl at the top level.
    assert body["redirectUrl"] == body["data"]["redirectUrl"]
    assert Payment.objects.get(pk=body["data"]["id"]).product_ref == slug
    assert body["data"]["planId"] == slug


# d5. POST /themed-rooms/sessions {themeId} (dead variant adds sessionData)
@pytest.mark.parametrize("body", [{"themeId": "ocean-waves"}, {"themeId": "ocean-waves", "sessionData": {"a": 1}}])
def test_d5_start_session(patient_app, body):
    response = patient_app.post("/themed-rooms/sessions", body)
    assert response.status_code == 201, response.content
    assert response.json()["data"]["themeId"] == "ocean-waves"
    assert RoomSession.objects.count() == 1


# d6. PATCH /themed-rooms/sessions/{id}/end {durationSeconds, notes} (dead variant: {sessionData})
@pytest.mark.parametrize("body", [{"durationSeconds": 300, "notes": "calm"}, {"sessionData": {"a": 1}}])
def test_d6_end_session(patient_app, body):
    started = patient_app.post("/themed-rooms/sessions", {"themeId": "ocean-waves"}).json()["data"]
    response = patient_app.patch(f"/themed-rooms/sessions/{started['sessionId']}/end", body)
    assert response.status_code == 200, response.content
    assert RoomSession.objects.get(pk=started["sessionId"]).status == "completed"
