"""Therapists, subscriptions, payments, metrics and the audit log through the admin API."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from payments.models import Payment, PaymentStatus
from payments.tests.factories import PaymentFactory
from rooms.models import RoomSessionStatus
from staff.tests.factories import CompletedRoomSessionFactory, TherapistFactory
from subscriptions.models import SubscriptionStatus
from subscriptions.tests.factories import PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["data"]]


def _assert_fixed_query_count(client, url, params, add_rows, django_assert_num_queries):
    add_rows(2)
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(url, params).status_code == 200
    add_rows(12)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(url, params)
    assert len(response.json()["data"]) >= 14


# --- therapists -----------------------------------------------------------------------------------------------------


def test_therapists_list_only_therapists_and_filters_verified(admin_client):
    verified = TherapistFactory(is_verified=True)
    pending = TherapistFactory(is_verified=False)
    patient = UserFactory()

    everyone = _ids(admin_client.get("/api/v1/admin/therapists"))
    only_verified = _ids(admin_client.get("/api/v1/admin/therapists", {"verified": "true"}))
    only_pending = _ids(admin_client.get("/api/v1/admin/therapists", {"verified": "false"}))

    assert set(everyone) == {str(verified.pk), str(pending.pk)}
    assert str(patient.pk) not in everyone
    assert only_verified == [str(verified.pk)]
    assert only_pending == [str(pending.pk)]


def test_therapists_bad_verified_filter_is_400(admin_client):
    response = admin_client.get("/api/v1/admin/therapists", {"verified": "perhaps"})
    assert response.status_code == 400
    assert "verified" in response.json()["errors"]


def test_verify_therapist_writes_audit_with_notes(admin_client, admin_user):
    therapist = TherapistFactory(is_verified=False)

    response = admin_client.patch(
        f"/api/v1/admin/therapists/{therapist.pk}/verify", {"verified": True, "notes": "Licence checked"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["data"]["isVerified"] is True
    therapist.refresh_from_db()
    assert therapist.is_verified is True
    row = AuditLog.objects.get(action="therapist.verify")
    assert row.actor_id == admin_user.pk
    assert row.changes == {"before": {"is_verified": False}, "after": {"is_verified": True, "notes": "Licence checked"}}


def test_unverify_therapist(admin_client):
    therapist = TherapistFactory(is_verified=True)
    response = admin_client.patch(f"/api/v1/admin/therapists/{therapist.pk}/verify", {"verified": False}, format="json")
    assert response.status_code == 200
    therapist.refresh_from_db()
    assert therapist.is_verified is False


def test_verify_without_body_verifies(admin_client):
    therapist = TherapistFactory(is_verified=False)
    assert admin_client.patch(f"/api/v1/admin/therapists/{therapist.pk}/verify").status_code == 200
    therapist.refresh_from_db()
    assert therapist.is_verified is True


def test_verify_a_non_therapist_is_400_and_changes_nothing(admin_client):
    patient = UserFactory(is_verified=False)

    response = admin_client.patch(f"/api/v1/admin/therapists/{patient.pk}/verify", {"verified": True}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "not_a_therapist"
    patient.refresh_from_db()
    assert patient.is_verified is False
    assert not AuditLog.objects.exists()


def test_verify_with_a_bad_body_is_400(admin_client):
    therapist = TherapistFactory(is_verified=False)
    response = admin_client.patch(
        f"/api/v1/admin/therapists/{therapist.pk}/verify", {"verified": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    therapist.refresh_from_db()
    assert therapist.is_verified is False


def test_verify_unknown_is_404(admin_client):
    assert admin_client.patch("/api/v1/admin/therapists/nope/verify").status_code == 404


# --- subscriptions --------------------------------------------------------------------------------------------------


def test_subscription_rows_have_the_contract_keys(admin_client):
    owner = UserFactory(first_name="Asha", last_name="Rao", email="asha-sub@example.com")
    subscription = SubscriptionFactory(
        user=owner, plan=PlanFactory(code="premium_yearly", name="Premium Yearly", amount_paise=299900)
    )

    response = admin_client.get("/api/v1/admin/subscriptions")

    (row,) = response.json()["data"]
    assert row["id"] == str(subscription.pk)
    assert row["planId"] == "premium_yearly"
    assert row["planName"] == "Premium Yearly"
    assert row["status"] == "active"
    assert row["amount"] == 2999  # rupees, as on every endpoint
    assert row["amountPaise"] == 299900
    assert "created_at" not in row
    assert row["createdAt"].endswith("Z")
    assert row["currency"] == "INR"
    assert row["startDate"].endswith("Z")
    assert row["endDate"].endswith("Z")
    assert row["user"] == {"id": str(owner.pk), "fullName": "Asha Rao", "email": "asha-sub@example.com"}
    assert row["User"] == row["user"]


def test_subscription_filters(admin_client):
    monthly = SubscriptionFactory(plan=PlanFactory(code="premium_monthly"))
    yearly_plan = PlanFactory(code="premium_yearly")
    cancelled = SubscriptionFactory(plan=yearly_plan, status=SubscriptionStatus.CANCELLED)

    assert _ids(admin_client.get("/api/v1/admin/subscriptions", {"status": "active"})) == [str(monthly.pk)]
    assert _ids(admin_client.get("/api/v1/admin/subscriptions", {"status": "cancelled"})) == [str(cancelled.pk)]
    assert _ids(admin_client.get("/api/v1/admin/subscriptions", {"plan": "premium_yearly"})) == [str(cancelled.pk)]
    assert _ids(admin_client.get("/api/v1/admin/subscriptions", {"plan": str(yearly_plan.uuid)})) == [str(cancelled.pk)]
    assert _ids(admin_client.get("/api/v1/admin/subscriptions", {"plan": "no_such_plan"})) == []


def test_subscription_bad_status_is_400(admin_client):
    response = admin_client.get("/api/v1/admin/subscriptions", {"status": "forever"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_subscription_list_query_count_is_fixed(admin_client, django_assert_num_queries):
    def add_rows(count):
        for index in range(count):
            SubscriptionFactory(plan=PlanFactory(code=f"qc_plan_{index % 4}"))

    _assert_fixed_query_count(
        admin_client, "/api/v1/admin/subscriptions", {"limit": 100}, add_rows, django_assert_num_queries
    )


def test_cancel_at_period_end_goes_through_the_service_and_is_audited(admin_client, admin_user):
    subscription = SubscriptionFactory(auto_renew=True)  # as if an Autopay mandate renewed it

    response = admin_client.patch(
        f"/api/v1/admin/subscriptions/{subscription.pk}/cancel", {"reason": "requested by phone"}, format="json"
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "active"
    assert data["autoRenew"] is False
    assert data["cancelledAt"] is not None
    row = AuditLog.objects.get(action="subscription.cancel")
    assert row.actor_id == admin_user.pk
    assert row.resource_id == str(subscription.pk)
    assert row.changes["before"]["auto_renew"] is True
    assert row.changes["after"]["auto_renew"] is False


def test_admin_may_cancel_immediately(admin_client):
    subscription = SubscriptionFactory()

    response = admin_client.patch(
        f"/api/v1/admin/subscriptions/{subscription.pk}/cancel", {"immediate": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "cancelled"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.end_date <= timezone.now()
    assert AuditLog.objects.get(action="subscription.cancel").changes["after"]["status"] == "cancelled"


def test_cancelling_twice_is_409(admin_client):
    subscription = SubscriptionFactory()
    admin_client.patch(f"/api/v1/admin/subscriptions/{subscription.pk}/cancel")

    response = admin_client.patch(f"/api/v1/admin/subscriptions/{subscription.pk}/cancel")

    assert response.status_code == 409
    assert response.json()["code"] == "already_cancelled"
    assert AuditLog.objects.filter(action="subscription.cancel").count() == 1


@pytest.mark.parametrize("bad_id", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_cancel_unknown_is_404(admin_client, bad_id):
    assert admin_client.patch(f"/api/v1/admin/subscriptions/{bad_id}/cancel").status_code == 404


# --- payments -------------------------------------------------------------------------------------------------------


def _payment_at(moment, **kwargs):
    payment = PaymentFactory(**kwargs)
    Payment.objects.filter(pk=payment.pk).update(created_at=moment)
    return payment


def test_payment_rows(admin_client):
    owner = UserFactory(first_name="Ravi", last_name="K", email="ravi@example.com")
    plan = PlanFactory(code="premium_monthly", name="Premium Monthly", amount_paise=29900)
    payment = PaymentFactory(user=owner, plan=plan)

    (row,) = admin_client.get("/api/v1/admin/payments").json()["data"]

    assert row["id"] == str(payment.pk)
    assert row["transactionId"] == payment.merchant_order_id
    assert row["status"] == "success"
    assert row["amount"] == 299  # rupees, as on every endpoint
    assert row["amountPaise"] == 29900
    assert "created_at" not in row
    assert row["createdAt"].endswith("Z")
    assert row["currency"] == "INR"
    assert row["planId"] == "premium_monthly"
    assert row["planName"] == "Premium Monthly"  # named by the plan product: payments keep only the code
    assert row["user"] == {"id": str(owner.pk), "fullName": "Ravi K", "email": "ravi@example.com"}


def test_payment_filters_status_and_date_range(admin_client):
    day = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    early = _payment_at(day - timedelta(days=5), status=PaymentStatus.SUCCESS)
    on_day = _payment_at(day, status=PaymentStatus.FAILED)
    late = _payment_at(day + timedelta(days=5), status=PaymentStatus.SUCCESS)

    assert set(_ids(admin_client.get("/api/v1/admin/payments", {"status": "success"}))) == {
        str(early.pk),
        str(late.pk),
    }
    assert _ids(admin_client.get("/api/v1/admin/payments", {"from": "2026-03-10", "to": "2026-03-10"})) == [
        str(on_day.pk)
    ]
    assert set(_ids(admin_client.get("/api/v1/admin/payments", {"from": "2026-03-08"}))) == {
        str(on_day.pk),
        str(late.pk),
    }
    assert set(_ids(admin_client.get("/api/v1/admin/payments", {"to": "2026-03-10T12:00:00Z"}))) == {
        str(early.pk),
        str(on_day.pk),
    }
    assert _ids(admin_client.get("/api/v1/admin/payments", {"status": "success", "to": "2026-03-09"})) == [
        str(early.pk)
    ]


@pytest.mark.parametrize(
    "params",
    [{"status": "maybe"}, {"from": "yesterday"}, {"to": "2026-13-01"}, {"from": "2026-03-10", "to": "2026-03-01"}],
)
def test_payment_bad_filters_are_400(admin_client, params):
    response = admin_client.get("/api/v1/admin/payments", params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_payment_of_deleted_user_has_null_user(admin_client):
    PaymentFactory(user=None)
    (row,) = admin_client.get("/api/v1/admin/payments").json()["data"]
    assert row["user"] is None


def test_payment_list_query_count_is_fixed(admin_client, django_assert_num_queries):
    def add_rows(count):
        for index in range(count):
            PaymentFactory(plan=PlanFactory(code=f"pay_plan_{index % 4}"))

    _assert_fixed_query_count(
        admin_client, "/api/v1/admin/payments", {"limit": 100}, add_rows, django_assert_num_queries
    )


# --- metrics --------------------------------------------------------------------------------------------------------


def test_metrics(admin_client, admin_user):
    UserFactory()
    UserFactory()
    TherapistFactory(is_verified=True)
    TherapistFactory(is_verified=False)
    UserFactory(email=None, phone_number=None, deleted_at=timezone.now())  # not counted
    CompletedRoomSessionFactory(status=RoomSessionStatus.COMPLETED)
    CompletedRoomSessionFactory(status=RoomSessionStatus.COMPLETED)
    CompletedRoomSessionFactory(status=RoomSessionStatus.ABANDONED)
    SubscriptionFactory()
    SubscriptionFactory(status=SubscriptionStatus.CANCELLED)
    SubscriptionFactory(end_date=timezone.now() - timedelta(days=1))  # expired by date
    PaymentFactory(amount_paise=29900, status=PaymentStatus.SUCCESS)
    PaymentFactory(amount_paise=3000, status=PaymentStatus.SUCCESS)
    PaymentFactory(amount_paise=99900, status=PaymentStatus.FAILED)
    PaymentFactory(amount_paise=99900, status=PaymentStatus.REFUNDED)

    data = admin_client.get("/api/v1/admin/metrics").json()["data"]

    # Users: the admin, the two named patients, two therapists, and the owners the factories created.
    assert data["users"]["therapists"] == 2
    assert data["users"]["verifiedTherapists"] == 1
    assert data["users"]["total"] == data["users"]["patients"] + 2 + 1
    assert data["sessions"] == {"total": 3, "completed": 2, "completionRate": 66.7}
    assert data["subscriptions"]["active"] == 1
    assert data["subscriptions"]["revenue"] == 32900  # paise, as analytics' revenue


def test_metrics_on_an_empty_platform_are_zeros(admin_client):
    data = admin_client.get("/api/v1/admin/metrics").json()["data"]
    assert data["sessions"] == {"total": 0, "completed": 0, "completionRate": 0}
    assert data["subscriptions"]["revenue"] == 0
    assert data["users"]["total"] == 1


# --- audit log ------------------------------------------------------------------------------------------------------


@pytest.fixture
def audit_rows(admin_user):
    other_admin = UserFactory(email="other-admin@example.com")
    with time_machine.travel(datetime(2026, 1, 5, 10, 0, tzinfo=UTC), tick=False):
        update = audit_log_record(
            action="user.update",
            actor=admin_user,
            resource_type="user",
            resource_id="u1",
            before={"first_name": "A"},
            after={"first_name": "B"},
            ip_address="203.0.113.9",
            user_agent="pytest",
        )
    with time_machine.travel(datetime(2026, 2, 5, 10, 0, tzinfo=UTC), tick=False):
        suspend = audit_log_record(action="user.suspend", actor=other_admin, resource_type="user", resource_id="u2")
    with time_machine.travel(datetime(2026, 3, 5, 10, 0, tzinfo=UTC), tick=False):
        cancel = audit_log_record(
            action="subscription.cancel", actor=admin_user, resource_type="subscription", resource_id="s1"
        )
    return {"update": update, "suspend": suspend, "cancel": cancel}


def test_audit_log_rows(admin_client, admin_user, audit_rows):
    response = admin_client.get("/api/v1/admin/audit-logs", {"action": "user.update"})

    (row,) = response.json()["data"]
    assert row == {
        "id": str(audit_rows["update"].pk),
        "timestamp": "2026-01-05T10:00:00Z",
        "actorId": str(admin_user.pk),
        "actorEmail": admin_user.email,
        "action": "user.update",
        "resourceType": "user",
        "resourceId": "u1",
        "changes": {"before": {"first_name": "A"}, "after": {"first_name": "B"}},
        "ipAddress": "203.0.113.9",
        "userAgent": "pytest",
        "requestId": audit_rows["update"].request_id,
    }


def test_audit_log_filters(admin_client, admin_user, audit_rows):
    url = "/api/v1/admin/audit-logs"

    def ids(params):
        return set(_ids(admin_client.get(url, params)))

    update, suspend, cancel = (str(audit_rows[name].pk) for name in ("update", "suspend", "cancel"))
    assert ids({"action": "user.suspend"}) == {suspend}
    assert ids({"action": "user.*"}) == {update, suspend}
    assert ids({"actor": str(admin_user.pk)}) == {update, cancel}
    assert ids({"actor": "OTHER-ADMIN@example.com"}) == {suspend}
    assert ids({"resource": "subscription"}) == {cancel}
    assert ids({"resource": "user", "resourceId": "u2"}) == {suspend}
    assert ids({"from": "2026-02-01"}) == {suspend, cancel}
    assert ids({"to": "2026-02-05"}) == {update, suspend}
    assert ids({"from": "2026-02-05", "to": "2026-02-05"}) == {suspend}
    assert ids({"from": "2026-01-05T10:00:00Z", "to": "2026-01-05T10:00:00Z"}) == {update}
    assert _ids(admin_client.get(url)) == [cancel, suspend, update]  # newest first


def test_audit_log_bad_dates_are_400(admin_client):
    for params in ({"from": "last week"}, {"from": "2026-03-02", "to": "2026-03-01"}):
        response = admin_client.get("/api/v1/admin/audit-logs", params)
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"


def test_audit_log_is_paginated(admin_client, admin_user):
    for index in range(5):
        audit_log_record(action="user.update", actor=admin_user, resource_type="user", resource_id=str(index))
    body = admin_client.get("/api/v1/admin/audit-logs", {"limit": 2, "page": 2}).json()
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}
    assert len(body["data"]) == 2


def test_audit_log_list_query_count_is_fixed(admin_client, admin_user, django_assert_num_queries):
    def add_rows(count):
        for index in range(count):
            audit_log_record(action="user.update", actor=admin_user, resource_type="user", resource_id=str(index))

    _assert_fixed_query_count(
        admin_client, "/api/v1/admin/audit-logs", {"limit": 100}, add_rows, django_assert_num_queries
    )


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_audit_log_cannot_be_written_through_the_api(admin_client, audit_rows, method):
    count = AuditLog.objects.count()
    for url in ("/api/v1/admin/audit-logs", f"/api/v1/admin/audit-logs/{audit_rows['update'].pk}"):
        response = getattr(admin_client, method)(url, {"action": "forged"}, format="json")
        assert response.status_code in (404, 405)
    assert AuditLog.objects.count() == count
    audit_rows["update"].refresh_from_db()
    assert audit_rows["update"].action == "user.update"
