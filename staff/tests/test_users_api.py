from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog, AuthSession, User
from accounts.roles import Role
from accounts.tests.factories import AdminFactory, UserFactory
from payments.tests.factories import PaymentFactory
from staff.tests.factories import CompletedRoomSessionFactory, TherapistFactory
from subscriptions.models import SubscriptionStatus
from subscriptions.tests.factories import PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

USERS = "/api/v1/admin/users"


def _ids(response):
    return [row["id"] for row in response.json()["data"]]


# --- list ------------------------------------------------------------------------------------------------------


def test_list_rows_have_the_contract_keys(admin_client):
    patient = UserFactory(first_name="Asha", last_name="Rao", email="asha@example.com", phone_number="+917000000001")
    SubscriptionFactory(user=patient, plan=PlanFactory(code="premium_monthly"))

    response = admin_client.get(USERS, {"search": "asha@example.com"})

    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}
    (row,) = body["data"]
    assert row["id"] == str(patient.pk)
    assert row["email"] == "asha@example.com"
    assert row["phoneNumber"] == "+917000000001"
    assert row["fullName"] == "Asha Rao"
    assert row["firstName"] == "Asha"
    assert row["lastName"] == "Rao"
    assert row["role"] == "patient"
    assert row["isActive"] is True
    assert row["isVerified"] is True
    assert row["status"] == "active"
    assert row["createdAt"] == row["created_at"]
    assert row["createdAt"].endswith("Z")
    assert row["subscription"]["planId"] == "premium_monthly"
    assert row["subscription"]["status"] == "active"


def test_full_name_and_email_are_empty_strings_when_unknown(admin_client):
    nameless = UserFactory(first_name="", last_name="", email=None, phone_number="+917000000002")

    response = admin_client.get(USERS, {"search": "7000000002"})

    (row,) = response.json()["data"]
    assert row["id"] == str(nameless.pk)
    assert row["fullName"] == ""
    assert row["email"] == ""
    assert row["subscription"] is None


def test_deleted_users_are_not_listed(admin_client):
    gone = UserFactory(email=None, phone_number=None, deleted_at=timezone.now(), is_active=False)
    assert str(gone.pk) not in _ids(admin_client.get(USERS, {"limit": 100}))


def test_filter_by_role(admin_client):
    therapist = TherapistFactory()
    patient = UserFactory()

    ids = _ids(admin_client.get(USERS, {"role": "therapist"}))

    assert str(therapist.pk) in ids
    assert str(patient.pk) not in ids
    assert all(row["role"] == "therapist" for row in admin_client.get(USERS, {"role": "therapist"}).json()["data"])


@pytest.mark.parametrize(
    "search",
    ["Zubin", "zubin", "Mehta", "zubin mehta", "ZUBIN@example", "7011122233", "+91 70111 22233", "+917011122233"],
)
def test_search_by_name_email_or_phone(admin_client, search):
    wanted = UserFactory(first_name="Zubin", last_name="Mehta", email="zubin@example.com", phone_number="+917011122233")
    UserFactory(first_name="Other", last_name="Person", email="other@example.com", phone_number="+917000000003")

    response = admin_client.get(USERS, {"search": search})

    assert _ids(response) == [str(wanted.pk)]


def test_filter_by_status(admin_client):
    active = UserFactory()
    suspended = UserFactory(is_active=False)

    active_ids = _ids(admin_client.get(USERS, {"status": "active", "limit": 100}))
    suspended_ids = _ids(admin_client.get(USERS, {"status": "suspended", "limit": 100}))

    assert str(active.pk) in active_ids
    assert str(suspended.pk) not in active_ids
    assert suspended_ids == [str(suspended.pk)]
    assert admin_client.get(USERS, {"status": "suspended"}).json()["data"][0]["status"] == "suspended"


def test_sort_by_created_at_desc_is_the_default_and_asc_reverses(admin_client, admin_user):
    now = timezone.now()
    older = UserFactory()
    newer = UserFactory()
    User.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=2))
    User.objects.filter(pk=newer.pk).update(created_at=now - timedelta(days=1))
    User.objects.filter(pk=admin_user.pk).update(created_at=now)

    assert _ids(admin_client.get(USERS)) == [str(admin_user.pk), str(newer.pk), str(older.pk)]
    assert _ids(admin_client.get(USERS, {"sortBy": "createdAt", "order": "asc"})) == [
        str(older.pk),
        str(newer.pk),
        str(admin_user.pk),
    ]


def test_sort_by_name_and_email(admin_client, admin_user):
    charlie = UserFactory(first_name="charlie", last_name="C", email="a-charlie@example.com")
    alice = UserFactory(first_name="Alice", last_name="A", email="c-alice@example.com")
    bob = UserFactory(first_name="Bob", last_name="B", email="b-bob@example.com")
    User.objects.filter(pk=admin_user.pk).update(first_name="Zed", email="z-admin@example.com")

    by_name = _ids(admin_client.get(USERS, {"sortBy": "name", "order": "asc"}))
    by_email_desc = _ids(admin_client.get(USERS, {"sortBy": "email", "order": "desc"}))

    assert by_name == [str(alice.pk), str(bob.pk), str(charlie.pk), str(admin_user.pk)]
    assert by_email_desc == [str(admin_user.pk), str(alice.pk), str(bob.pk), str(charlie.pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"role": "wizard"}, "role"),
        ({"status": "sleeping"}, "status"),
        ({"sortBy": "password"}, "sortBy"),
        ({"order": "sideways"}, "order"),
        ({"page": "0"}, "page"),
        ({"limit": "abc"}, "limit"),
    ],
)
def test_bad_list_parameters_are_400(admin_client, params, field):
    response = admin_client.get(USERS, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["errors"]


def test_pagination(admin_client):
    for _ in range(4):
        UserFactory()

    first = admin_client.get(USERS, {"limit": 2, "page": 1}).json()
    third = admin_client.get(USERS, {"limit": 2, "page": 3}).json()

    assert first["pagination"] == {"page": 1, "limit": 2, "total": 5, "pages": 3}
    assert len(first["data"]) == 2
    assert len(third["data"]) == 1
    assert set(_ids_from(first)).isdisjoint(_ids_from(third))


def _ids_from(body):
    return [row["id"] for row in body["data"]]


def test_list_query_count_does_not_grow_with_rows(admin_client, django_assert_num_queries):
    def add_rows(count):
        for index in range(count):
            user = UserFactory()
            SubscriptionFactory(user=user, plan=PlanFactory(code=f"plan_{index % 3}"))

    add_rows(2)
    with CaptureQueriesContext(connection) as baseline:
        assert admin_client.get(USERS, {"limit": 100}).status_code == 200
    add_rows(15)

    with django_assert_num_queries(len(baseline.captured_queries)):
        response = admin_client.get(USERS, {"limit": 100, "search": "example", "sortBy": "name"})
    assert len(response.json()["data"]) == 18


# --- detail ------------------------------------------------------------------------------------------------------


def test_detail_has_subscriptions_sessions_minutes_and_last_active(admin_client):
    patient = UserFactory()
    old = SubscriptionFactory(
        user=patient, plan=PlanFactory(code="track_single", amount_paise=3000), status=SubscriptionStatus.EXPIRED
    )
    current = SubscriptionFactory(user=patient, plan=PlanFactory(code="premium_monthly"))
    CompletedRoomSessionFactory(user=patient, duration_seconds=600)
    CompletedRoomSessionFactory(user=patient, duration_seconds=1260, started_at=timezone.now() - timedelta(minutes=25))

    response = admin_client.get(f"{USERS}/{patient.pk}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == str(patient.pk)
    assert data["sessionCount"] == 2
    assert data["completedSessionCount"] == 2
    assert data["totalMinutes"] == 31
    assert data["lastActive"] is not None
    assert [row["id"] for row in data["subscriptions"]] == [str(current.pk), str(old.pk)]
    assert data["subscriptions"][1]["amount"] == 30  # rupees
    assert data["subscriptions"][1]["amountPaise"] == 3000
    assert "created_at" not in data  # only the list rows carry the web app's snake_case key
    assert data["subscription"]["id"] == str(current.pk)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_detail_of_unknown_or_malformed_id_is_404(admin_client, bad_id):
    response = admin_client.get(f"{USERS}/{bad_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- update ------------------------------------------------------------------------------------------------------


def test_update_name_writes_an_audit_row_with_before_and_after(admin_client, admin_user):
    patient = UserFactory(first_name="Asha", last_name="Rao")

    response = admin_client.patch(f"{USERS}/{patient.pk}", {"name": "Asha Kumari Rao"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["fullName"] == "Asha Kumari Rao"
    patient.refresh_from_db()
    assert (patient.first_name, patient.last_name) == ("Asha", "Kumari Rao")
    row = AuditLog.objects.get(action="user.update")
    assert row.actor_id == admin_user.pk
    assert row.resource_type == "user"
    assert row.resource_id == str(patient.pk)
    assert row.changes == {"before": {"last_name": "Rao"}, "after": {"last_name": "Kumari Rao"}}


def test_update_role_ends_the_users_sessions(admin_client, make_auth_client):
    patient = UserFactory()
    patient_client = make_auth_client(patient)

    response = admin_client.patch(f"{USERS}/{patient.pk}", {"role": "therapist"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["role"] == "therapist"
    row = AuditLog.objects.get(action="user.update")
    assert row.changes["before"] == {"role": "patient"}
    assert row.changes["after"]["role"] == "therapist"
    assert patient_client.get("/api/v1/admin/users").status_code == 401


def test_update_status_suspends_through_the_suspend_service(admin_client):
    patient = UserFactory()

    response = admin_client.patch(f"{USERS}/{patient.pk}", {"status": "suspended"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "suspended"
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["user.suspend"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "wizard"},
        {"status": "gone"},
        {"email": "new@example.com"},
        {"isStaff": True},
        {"firstName": "x" * 101},
    ],
)
def test_bad_updates_are_400_and_change_nothing(admin_client, body):
    patient = UserFactory(first_name="Asha", email="keep@example.com")

    response = admin_client.patch(f"{USERS}/{patient.pk}", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    patient.refresh_from_db()
    assert (patient.first_name, patient.email, patient.role, patient.is_staff) == (
        "Asha",
        "keep@example.com",
        Role.PATIENT,
        False,
    )
    assert not AuditLog.objects.exists()


def test_admin_cannot_demote_or_suspend_themself(admin_client, admin_user):
    for body in ({"role": "patient"}, {"status": "suspended"}):
        response = admin_client.patch(f"{USERS}/{admin_user.pk}", body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "cannot_modify_own_account"
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert admin_user.is_active
    assert not AuditLog.objects.exists()


def test_unchanged_update_writes_no_audit_row(admin_client):
    patient = UserFactory(first_name="Asha")
    response = admin_client.patch(f"{USERS}/{patient.pk}", {"firstName": "Asha"}, format="json")
    assert response.status_code == 200
    assert not AuditLog.objects.exists()


# --- suspend / reinstate -------------------------------------------------------------------------------------------


def test_suspension_cuts_an_active_session_at_once(admin_client, make_auth_client):
    patient = UserFactory()
    patient_client = make_auth_client(patient)
    second_device = make_auth_client(patient)
    assert patient_client.get("/api/v1/admin/users").status_code == 403  # signed in (403, not 401)

    response = admin_client.put(f"{USERS}/{patient.pk}/suspend", {"reason": "abuse"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "suspended"
    for client in (patient_client, second_device):
        answer = client.get("/api/v1/admin/users")
        assert answer.status_code == 401
        assert answer.json()["code"] == "account_suspended"
    assert not AuthSession.objects.filter(user=patient, revoked_at__isnull=True).exists()
    row = AuditLog.objects.get(action="user.suspend")
    assert row.changes["before"] == {"status": "active", "is_active": True}
    assert row.changes["after"]["status"] == "suspended"
    assert row.changes["after"]["reason"] == "abuse"
    assert row.changes["after"]["sessions_revoked"] == 2


def test_suspend_without_body_works_like_the_web_client(admin_client):
    patient = UserFactory()
    response = admin_client.put(f"{USERS}/{patient.pk}/suspend")
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.is_active is False


def test_suspending_a_suspended_user_writes_nothing_new(admin_client):
    patient = UserFactory(is_active=False)
    response = admin_client.put(f"{USERS}/{patient.pk}/suspend")
    assert response.status_code == 200
    assert not AuditLog.objects.exists()


def test_reinstate(admin_client, make_auth_client):
    patient = UserFactory()
    admin_client.put(f"{USERS}/{patient.pk}/suspend")

    response = admin_client.delete(f"{USERS}/{patient.pk}/suspend")

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "active"
    patient.refresh_from_db()
    assert patient.is_active is True
    row = AuditLog.objects.get(action="user.reinstate")
    assert row.changes == {
        "before": {"status": "suspended", "is_active": False},
        "after": {"status": "active", "is_active": True},
    }
    # A new sign-in works again.
    assert make_auth_client(patient).get("/api/v1/admin/users").status_code == 403


def test_admin_cannot_suspend_themself(admin_client, admin_user):
    response = admin_client.put(f"{USERS}/{admin_user.pk}/suspend")
    assert response.status_code == 400
    assert response.json()["code"] == "cannot_modify_own_account"
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_another_admin_can_be_suspended(admin_client):
    other = AdminFactory()
    assert admin_client.put(f"{USERS}/{other.pk}/suspend").status_code == 200
    other.refresh_from_db()
    assert other.is_active is False


def test_suspend_unknown_user_is_404(admin_client):
    response = admin_client.put(f"{USERS}/00000000-0000-0000-0000-000000000000/suspend")
    assert response.status_code == 404
    assert not AuditLog.objects.exists()


# --- delete ------------------------------------------------------------------------------------------------------


def test_soft_delete_scrubs_revokes_and_keeps_payments(admin_client, make_auth_client, admin_user):
    patient = UserFactory(first_name="Asha", email="asha@example.com", phone_number="+917000000009")
    patient_client = make_auth_client(patient)
    payment = PaymentFactory(user=patient)

    response = admin_client.delete(f"{USERS}/{patient.pk}")

    assert response.status_code == 200
    assert response.json()["data"] == {"id": str(patient.pk), "deleted": True}
    patient.refresh_from_db()
    assert patient.deleted_at is not None
    assert (patient.email, patient.phone_number, patient.first_name) == (None, None, "")
    assert patient.is_active is False
    assert patient_client.get("/api/v1/admin/users").status_code == 401
    payment.refresh_from_db()  # kept for accounting; the user it points at is scrubbed
    assert payment.user_id == patient.pk
    row = AuditLog.objects.get(action="user.delete")
    assert row.actor_id == admin_user.pk
    assert row.resource_id == str(patient.pk)
    assert row.changes["before"] == {"deleted": False}
    assert row.changes["after"]["deleted"] is True
    assert "asha@example.com" not in str(row.changes)
    assert admin_client.get(f"{USERS}/{patient.pk}").status_code == 404


def test_admin_cannot_delete_themself(admin_client, admin_user):
    response = admin_client.delete(f"{USERS}/{admin_user.pk}")
    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.deleted_at is None
