"""Property test of the recurring money path, end to end against the PhonePe simulator (docs/autopay.md
"How it is tested"). Random, bounded histories interleave:

* Autopay set-ups (monthly, yearly), approved at once, just after the set-up job looked (its callbacks
  lost), or never; a second one while one is live or open is refused;
* the renewal's notice and debit (clock jumps to the notice window, the debit time, the paid end, the grace end);
* PhonePe faults on any of its calls: 503, a dropped connection, an answer lost after PhonePe acted (the
  caller times out), the next debits failing;
* callbacks delivered late, twice, in reverse order, or lost;
* a worker dying in the middle of a renewal (before the redeem, after PhonePe took it, while confirming),
  then the jobs running again (the restart);
* the user turning Autopay off (`DELETE /subscriptions/autopay`) or cancelling the subscription
  (`POST /subscriptions/cancel`), deleting the account, staff suspending it, the mandate revoked at PhonePe.

Whatever the steps left behind, every history then goes through the next cycle (notice, debit, paid end).
After every step the faults stop, the periodic jobs run through a real procrastinate worker until nothing is
ready (`quiesce`), and `check` holds:

(a) every amount PhonePe reports taken (setup orders, redemptions) is exactly one of: a successful payment
    whose grant gives the user its period, or a refund (and we never record money PhonePe did not take);
(b) no job is stuck: nothing `doing` or left waiting, no renewal past its deadline;
(c) the user's paid access equals what their surviving payments bought: each one's full period, no period
    counted twice, nothing live from a refunded payment; unpaid time is only the grace after the paid end.

At the end of every history the reconciliation audit (payments/audit.py with autopay's redemptions) runs and
must find no disagreement. A real SIGKILL of a worker process mid-redeem is the last test of this file (the
worker processes keep the real time, so it is not one of the clock-moving steps).

Bounded and derandomized: CI runs the same histories every time. `HYPOTHESIS_EXPLORE=1` (with
`HYPOTHESIS_MAX_EXAMPLES`) searches randomly instead, for local hunting.
"""

import contextlib
import itertools
import json
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import event as hypothesis_event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from accounts.models import User
from accounts.tests.factories import AdminFactory, UserFactory
from autopay import renewals
from autopay import tasks as autopay_tasks
from autopay.models import Mandate, MandateState, Renewal, RenewalState
from autopay.selectors import renewals_past_deadline
from autopay.tests.conftest import AUTOPAY
from manas360.api.errors import ApplicationError
from payments import tasks as payment_tasks
from payments.audit import reconciliation_audit
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.phonepe.callback import callback_authorization
from payments.phonepe.client import PhonePeError
from payments.phonepe.simulator.handler import SimulatorHandler
from payments.services import payment_webhook_process
from subscriptions.models import LIVE_GRANT_STATES, Grant, GrantState, Plan
from subscriptions.selectors import subscription_get_active
from subscriptions.services import subscriptions_expire
from tests.jobs.workers import WorkerFactory, job_rows, wait_for
from tests.servers import server_base_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXPLORE = bool(os.environ.get("HYPOTHESIS_EXPLORE"))
HOUR = timedelta(hours=1)
START = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
# PhonePe's calls on the recurring path (the simulator's fault names).
OPERATIONS = ["redeem", "notify", "subscription_order_status", "subscription_status", "subscription_cancel", "refund"]
TAKEN_FLOWS = {"SUBSCRIPTION_REDEMPTION", "SUBSCRIPTION_CHECKOUT_SETUP", "SUBSCRIPTION_SETUP"}


def event(label: str) -> None:
    """What the histories reach (`--hypothesis-show-statistics`); the guard test runs the same code outside."""
    if currently_in_test_context():
        hypothesis_event(label)


class WorkerKilled(BaseException):
    """A worker process dying at a line: nothing of ours runs after it (not an Exception a handler catches)."""


plan = st.sampled_from(["premium_monthly", "premium_yearly"])
# What the user, staff or PhonePe do; also while PhonePe is failing, or right after a worker died.
leaving = st.sampled_from(["turn_off", "cancel_subscription", "revoke", "delete_account", "suspend"])
meanwhile = st.one_of(st.none(), st.none(), st.none(), leaving)  # mostly nobody: the renewal goes on
opening = st.sampled_from(
    [
        ("setup", "premium_monthly", "approve"),
        ("setup", "premium_yearly", "approve"),
        ("setup", "premium_monthly", "late"),
        ("setup", "premium_monthly", "later"),
    ]
)
step = st.one_of(
    st.tuples(st.just("setup"), plan, st.sampled_from(["approve", "approve", "late", "later"])),
    st.tuples(st.just("jump"), st.sampled_from(["notice", "debit", "end", "grace_end"])),
    st.tuples(st.just("wait"), st.sampled_from([1, 13, 25, 24 * 7])),
    st.tuples(
        st.just("fault"), st.sampled_from(OPERATIONS), st.sampled_from([503, 0, "lost"]), st.integers(1, 3), meanwhile
    ),
    st.tuples(
        st.just("fault"), st.sampled_from(["redeem", "subscription_order_status"]), st.just(503), st.just(3), meanwhile
    ),
    st.tuples(st.just("fail_debits"), st.integers(1, 3)),
    st.tuples(st.just("callbacks"), st.sampled_from(["deliver", "twice", "reversed", "lose"])),
    st.tuples(st.just("crash"), st.sampled_from(["before_redeem", "after_redeem", "confirming"]), meanwhile),
    st.tuples(leaving),
)


class LostAnswers:
    """PhonePe acts on the next `count` calls of an operation, then its answer never arrives (the caller
    times out, or the connection drops after the fact): the worst case of a timeout."""

    ROUTES = {
        "redeem": "_redeem",
        "notify": "_notify",
        "subscription_order_status": "_subscription_order_status",
        "subscription_status": "_subscription_status",
        "subscription_cancel": "_cancel",
        "refund": "_refund",
    }

    def __init__(self, monkeypatch):
        self.pending: dict[str, int] = {}
        self.lock = threading.Lock()
        for operation, method in self.ROUTES.items():
            self._wrap(monkeypatch, operation, method)

    def _wrap(self, monkeypatch, operation, method):
        original = getattr(SimulatorHandler, method)
        lost = self

        def wrapped(handler, *args, **kwargs):
            with lost.lock:
                drop = lost.pending.get(operation, 0) > 0
                if drop:
                    lost.pending[operation] -= 1
            if not drop:
                return original(handler, *args, **kwargs)

            def send_nothing(*_args, **_kwargs):  # acted on, then the connection goes away
                handler.close_connection = True
                handler.connection.shutdown(2)

            handler._send_json = send_nothing
            handler._send_empty = send_nothing
            with contextlib.suppress(OSError):
                return original(handler, *args, **kwargs)

        monkeypatch.setattr(SimulatorHandler, method, wrapped)

    def add(self, operation: str, count: int) -> None:
        with self.lock:
            self.pending[operation] = self.pending.get(operation, 0) + count

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()


class History:
    """One patient's recurring payments; PhonePe's callbacks are held back and delivered by the steps."""

    def __init__(self, autopay_sim, job_engine, make_auth_client, lost_answers, admin, clock):
        self.autopay_sim = autopay_sim
        self.sim = autopay_sim.sim
        self.server = autopay_sim.sim.server
        self.job_engine = job_engine
        self.make_auth_client = make_auth_client
        self.lost_answers = lost_answers
        self.admin = admin
        self.user = UserFactory()
        # Examples share the database and the simulator: each starts after the last one ended (time never
        # rewinds, at PhonePe or here), and the earlier patients' mandates go on renewing meanwhile.
        self.clock = clock
        self.now = clock["now"] + timedelta(days=1)
        self.callbacks: list[dict] = []
        self.signature = callback_authorization(
            django_settings.PHONEPE_WEBHOOK_USERNAME, django_settings.PHONEPE_WEBHOOK_PASSWORD
        )
        self.server.send_callback = self._hold_callback  # PhonePe's callbacks wait for a `callbacks` step

    # --- plumbing ------------------------------------------------------------------------------

    def _hold_callback(self, body, *, authorization=None):
        self.callbacks.append(body)
        return {"delivered": False, "reason": "held by the test"}

    def _webhook(self, body) -> None:
        # A 503 (PhonePe could not be asked) is delivered again by PhonePe; the reprocessing job covers it.
        with contextlib.suppress(ApplicationError):
            payment_webhook_process(
                now=timezone.now(), raw_body=json.dumps(body).encode(), authorization=self.signature
            )

    def _faults_stop(self) -> None:
        with self.server.state.lock:
            self.server.state.faults.clear()
        self.lost_answers.clear()

    def _client(self):
        """The user's app, signed in again (a jump of days outlives any access token)."""
        user = User.objects.get(pk=self.user.pk)
        if user.deleted_at is not None or not user.is_active:
            return None
        return self.make_auth_client(user)

    def mandates(self):
        return Mandate.objects.filter(user=self.user).order_by("created_at")

    def paid_end(self) -> datetime | None:
        ends = Grant.objects.filter(user=self.user, payment__isnull=False).exclude(state=GrantState.REVOKED)
        return max((end for end in ends.values_list("ends_at", flat=True) if end is not None), default=None)

    def _jobs_round(self) -> None:
        """The periodic jobs of the recurring path at `now`, then a worker until nothing is ready."""
        tick = int(self.now.timestamp())
        autopay_tasks.renewals_due.defer(timestamp=tick)
        payment_tasks.reprocess_unfinished_webhooks.defer(timestamp=tick)
        payment_tasks.reconcile_pending_payments.defer(timestamp=tick)
        payment_tasks.retry_unfinished_refunds.defer(timestamp=tick)
        # Retries the engine scheduled by the database's (real) clock are due by ours, which moved.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
        self.job_engine.run()
        subscriptions_expire(now=timezone.now())

    # --- one step ------------------------------------------------------------------------------

    def run(self, action) -> None:
        kind = action[0]
        self._next_milestone()
        with time_machine.travel(self.now, tick=False):
            getattr(self, f"do_{kind}")(*action[1:])
        self.quiesce()

    def _next_milestone(self) -> None:
        """Time passes between steps, to the renewal's next moment (its notice, its debit, the paid end), so
        every history renews and each step's fault or crash meets whatever is due then."""
        end = self.paid_end()
        # The notice goes out at the first job run 48 h before the end; its debit may follow 24 h later.
        moments = [] if end is None else [end - 47 * HOUR, end - 22 * HOUR, end + HOUR]
        self.now = min((at for at in moments if at > self.now + HOUR), default=self.now + HOUR)

    def quiesce(self) -> None:
        """The faults stop, and the jobs run (twice, 10 minutes apart, as the sweeps would)."""
        self._faults_stop()
        for _ in range(2):
            self.now += timedelta(minutes=10)
            with time_machine.travel(self.now, tick=False):
                self._jobs_round()
        self.clock["now"] = self.now

    def do_setup(self, plan_code, approval):
        client = self._client()
        if client is None:
            return
        response = client.post(AUTOPAY, {"planId": plan_code}, format="json")
        # 409: one mandate per user (live, or another plan's set-up still open); 502: PhonePe unreachable.
        assert response.status_code in (201, 409, 502), response.content
        if response.status_code != 201 or approval == "later":
            return
        mandate = Mandate.objects.select_related("setup_payment").get(pk=response.json()["data"]["id"])
        if approval == "late":  # the set-up job looks first (callbacks lost); the user approves just after
            self.now += timedelta(minutes=6)
            with time_machine.travel(self.now, tick=False):
                self._jobs_round()
        order_id = mandate.setup_payment.merchant_order_id
        with time_machine.travel(self.now, tick=False):
            if self.sim.post(f"/simulator/orders/{order_id}/complete", {"state": "COMPLETED"}).status_code == 200:
                event(f"set-up approved ({approval})")

    def do_jump(self, target):
        end = self.paid_end()
        if end is None:
            return
        at = {
            "notice": end - 47 * HOUR,
            "debit": end - 22 * HOUR,
            "end": end + HOUR,
            "grace_end": end + timedelta(days=django_settings.AUTOPAY_GRACE_DAYS) + HOUR,
        }[target]
        if at > self.now:
            self.now = at
            with time_machine.travel(self.now, tick=False):
                self._jobs_round()  # the sweep at that time, PhonePe still answering

    def do_wait(self, hours):
        self.now += timedelta(hours=hours)

    def do_fault(self, operation, status, count, then):
        """PhonePe misbehaves for the next calls; the jobs due now run into it; then someone acts meanwhile."""
        if status == "lost":
            self.lost_answers.add(operation, count)
        else:
            self.sim.post("/simulator/faults", {"operation": operation, "status": status, "count": count})
        self._jobs_round()
        if then:
            getattr(self, f"do_{then}")()

    def do_fail_debits(self, count):
        for mandate in self.mandates().filter(state__in=["active", "paused"]):
            self.autopay_sim.control(mandate, "fail-next-debit", {"count": count})

    def do_callbacks(self, mode):
        held, self.callbacks = self.callbacks, []
        if mode == "lose":
            return
        ordered = list(reversed(held)) if mode == "reversed" else held
        for body in ordered * (2 if mode == "twice" else 1):
            self._webhook(body)

    def do_crash(self, point, then):
        """A worker dies in the middle of the renewal step; someone acts before the restart (the next jobs)."""
        original_redeem, original_sync = renewals._redeem, renewals.renewal_sync

        def redeem(renewal):
            if point == "after_redeem":
                original_redeem(renewal)
            raise WorkerKilled(point)

        def sync(**kwargs):
            raise WorkerKilled(point)

        patches = {"_redeem": redeem} if point != "confirming" else {"renewal_sync": sync}
        for mandate in self.mandates():
            for name, replacement in patches.items():
                setattr(renewals, name, replacement)
            try:
                renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
            except WorkerKilled:
                event(f"worker killed {point}")
            except PhonePeError:
                pass  # PhonePe could not answer: the job fails, as its retry or the next sweep would see
            finally:
                renewals._redeem, renewals.renewal_sync = original_redeem, original_sync
        if then:
            getattr(self, f"do_{then}")()

    def do_turn_off(self):
        client = self._client()
        if client is not None:
            assert client.delete(AUTOPAY).status_code in (200, 404, 502)

    def do_cancel_subscription(self):
        client = self._client()
        if client is not None:
            assert client.post("/api/v1/subscriptions/cancel", {}, format="json").status_code in (200, 404, 409)

    def do_revoke(self):
        for mandate in self.mandates():
            self.sim.post(f"/simulator/subscriptions/{mandate.merchant_subscription_id}/revoke")  # 409 if not live

    def do_delete_account(self):
        client = self._client()
        if client is not None:
            assert client.delete("/api/v1/users/me").status_code == 200
            event("account deleted")

    def do_suspend(self):
        if User.objects.filter(pk=self.user.pk, is_active=True, deleted_at__isnull=True).exists():
            admin = self.make_auth_client(self.admin, mfa_verified=True)
            response = admin.put(f"/api/v1/admin/users/{self.user.pk}/suspend", {"reason": "test"}, format="json")
            assert response.status_code == 200, response.content
            event("account suspended")


# --- the checks ----------------------------------------------------------------------------------


def _taken_at_phonepe(history: History) -> dict[str, int]:
    """merchantOrderId -> amount of every order of this user PhonePe reports COMPLETED."""
    subscriptions = set(history.mandates().values_list("merchant_subscription_id", flat=True))
    setups = set(history.mandates().values_list("setup_payment__merchant_order_id", flat=True))
    with history.server.state.lock:
        orders = list(history.server.state.orders.values())
    return {
        order.merchant_order_id: order.amount
        for order in orders
        if order.state == "COMPLETED"
        and (order.merchant_subscription_id in subscriptions or order.merchant_order_id in setups)
    }


def check(history: History) -> None:
    user, now = history.user, history.now
    taken = _taken_at_phonepe(history)
    payments = {p.merchant_order_id: p for p in Payment.objects.filter(user=user)}
    plans = {plan.code: plan for plan in Plan.objects.all()}

    # (a) PhonePe's money, each rupee once: granted or refunded.
    for merchant_order_id, amount in taken.items():
        payment = payments.get(merchant_order_id)
        assert payment is not None, f"PhonePe took {amount} paise for {merchant_order_id}; no payment recorded"
        assert payment.amount_paise == amount
        assert payment.status in (PaymentStatus.SUCCESS, PaymentStatus.REFUNDED), payment.status
        refunds = payment.refunds.exclude(status=RefundStatus.FAILED)
        grants = Grant.objects.filter(payment=payment)
        if payment.status == PaymentStatus.REFUNDED or payment.refund_reason:
            assert refunds.count() == 1, f"{merchant_order_id} decided refunded ({payment.refund_reason!r})"
            refund = refunds.get()
            assert refund.amount_paise == amount
            assert refund.merchant_refund_id in history.server.state.refunds  # asked at PhonePe, not only decided
            assert not grants.filter(state__in=LIVE_GRANT_STATES).exists(), "refunded and still granting"
            event("a charge refunded")
        else:
            assert not refunds.exists()
            assert grants.exists()
            assert not grants.filter(state=GrantState.REVOKED).exists()
    for merchant_order_id, payment in payments.items():
        if payment.status in (PaymentStatus.SUCCESS, PaymentStatus.REFUNDED):
            assert merchant_order_id in taken, f"{merchant_order_id} recorded paid; PhonePe took nothing"
        else:
            assert not Grant.objects.filter(payment=payment).exists()

    # (b) Nothing stuck.
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, status::text FROM procrastinate_jobs WHERE status IN ('doing', 'todo')")
        assert cursor.fetchall() == []
    mandates = list(history.mandates())
    late = renewals_past_deadline(now=now).filter(mandate__in=mandates)
    assert not late.exists(), list(late.values_list("state", flat=True))
    assert not Renewal.objects.filter(mandate__in=mandates, state=RenewalState.DEBITING).exists(), (
        "a debit left unsettled while PhonePe answers"
    )

    # (c) Access: what the surviving payments bought, each period once.
    surviving = [p for p in payments.values() if p.status == PaymentStatus.SUCCESS and not p.refund_reason]
    bought = timedelta(0)
    spans = []
    for payment in surviving:
        rows = Grant.objects.filter(payment=payment)
        period = timedelta(days=plans[payment.product_ref].duration_days)
        bought += period
        given = sum(((row.ends_at - row.starts_at) for row in rows), timedelta(0))
        assert given == period, (payment.product_ref, given)
        spans += [(row.starts_at, row.ends_at) for row in rows]
    spans.sort()
    for (_, first_end), (second_start, _) in itertools.pairwise(spans):
        assert second_start >= first_end, "two paid periods overlap: time counted twice"
    paid_end = max((end for _, end in spans), default=None)
    unpaid = Grant.objects.filter(user=user, payment__isnull=True, state__in=LIVE_GRANT_STATES)
    for grant in unpaid:  # only Autopay's grace, right after the paid time
        assert paid_end is not None
        assert grant.starts_at >= paid_end
        assert grant.ends_at - grant.starts_at <= timedelta(days=django_settings.AUTOPAY_GRACE_DAYS)
    with time_machine.travel(now, tick=False):
        head = Grant.objects.filter(user=user, state=GrantState.CURRENT, starts_at__lte=now, ends_at__gt=now)
        if User.objects.get(pk=user.pk).deleted_at is None:
            assert (
                subscription_get_active(now=timezone.now(), user=User.objects.get(pk=user.pk)) is not None
            ) == head.exists()


def audit_clean(history: History) -> None:
    """The reconciliation audit over everything this history created agrees with PhonePe."""
    history.now += timedelta(hours=2)
    with time_machine.travel(history.now, tick=False):
        audit = reconciliation_audit(now=timezone.now())
    history.clock["now"] = history.now
    assert audit.complete
    assert audit.total("disagreements") == 0, list(audit.findings.values_list("reference", "ours", "theirs", "detail"))
    assert audit.total("checked") > 0


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def world(job_engine, simulator, plans, autopay_sim, make_auth_client, monkeypatch, settings):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    settings.PAYMENT_RECONCILE_INTERVAL_SECONDS = 0
    settings.RECONCILIATION_AUDIT_MIN_AGE_MINUTES = 0
    settings.RECONCILIATION_AUDIT_DAYS = 3650
    settings.PHONEPE_MAX_RETRIES = 0  # a fault is the caller's problem at once, as a worker sees it
    simulator.server.callback_url = "http://held.invalid/"  # never used: the History holds every callback
    simulator.server.state.config["refund_auto_complete_seconds"] = None
    lost = LostAnswers(monkeypatch)
    admin = AdminFactory()
    clock = {"now": START}

    def start() -> History:
        return History(autopay_sim, job_engine, make_auth_client, lost, admin, clock)

    return start


@pytest.fixture
def worker_processes(job_engine, tmp_path):
    """Real `manage.py jobs_worker` processes on the test database (tests/jobs/workers.py)."""
    factory = WorkerFactory(tmp_path, server_base_env())
    try:
        yield factory
    finally:
        factory.stop_all()


NEXT_CYCLE = [("jump", "notice"), ("jump", "debit"), ("jump", "end")]


@hypothesis_settings(
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "12")),
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Always-run histories (the random ones come on top): the findings these rules exist for. Each step happens at
# the renewal's next moment (after the set-up: its notice, its debit, the paid end).
@example(  # the worker dies after PhonePe took the debit; the user turns Autopay off before the restart
    first=("setup", "premium_monthly", "approve"),
    steps=[("callbacks", "deliver"), ("crash", "after_redeem", "turn_off"), ("callbacks", "twice")],
)
@example(  # PhonePe takes the debit, its answer is lost; PhonePe's status API down; staff suspend the account
    first=("setup", "premium_monthly", "approve"),
    steps=[
        ("callbacks", "deliver"),
        ("fault", "redeem", "lost", 1, None),
        ("fault", "subscription_order_status", 503, 3, "suspend"),
    ],
)
@example(  # the worker dies after PhonePe took the debit; the account is deleted before the restart
    first=("setup", "premium_yearly", "approve"),
    steps=[("callbacks", "lose"), ("crash", "after_redeem", "delete_account"), ("callbacks", "reversed")],
)
@example(  # set-ups: one never approved, one refused while another is open, one approved after the job looked
    first=("setup", "premium_monthly", "later"),
    steps=[
        ("setup", "premium_yearly", "later"),
        ("setup", "premium_yearly", "late"),
        ("setup", "premium_monthly", "approve"),
        ("callbacks", "reversed"),
        ("jump", "notice"),
        ("jump", "debit"),
    ],
)
@example(  # a lost answer to a failing debit (grace), then a revoke at PhonePe, and the grace runs out
    first=("setup", "premium_monthly", "approve"),
    steps=[
        ("fail_debits", 1),
        ("fault", "redeem", "lost", 1, None),
        ("callbacks", "deliver"),
        ("revoke",),
        ("jump", "grace_end"),
        ("callbacks", "lose"),
    ],
)
@example(  # one 503 on the debit; the next run sends it again; staff suspend the account the next cycle
    first=("setup", "premium_monthly", "approve"),
    steps=[("wait", 1), ("fault", "redeem", 503, 1, None), ("wait", 1), ("fault", "notify", 0, 1, "suspend")],
)
@example(  # every debit request fails (503) while the user turns Autopay off; a new mandate follows
    first=("setup", "premium_monthly", "approve"),
    steps=[
        ("setup", "premium_monthly", "approve"),
        ("fault", "redeem", 503, 3, "turn_off"),
        ("setup", "premium_monthly", "approve"),
    ],
)
@given(first=opening, steps=st.lists(step, min_size=3, max_size=8))
def test_every_rupee_phonepe_takes_on_the_recurring_path_is_granted_or_refunded(first, steps, world):
    history = world()
    history.run(first)
    check(history)
    for action in steps:
        history.run(action)
        check(history)
    # Whatever the history left behind, the next cycle comes: its notice, its debit, its paid end.
    for action in NEXT_CYCLE:
        history.run(action)
        check(history)
    audit_clean(history)
    mandates = history.mandates()
    event(f"renewals charged: {Renewal.objects.filter(mandate__in=mandates, state=RenewalState.SUCCEEDED).count()}")
    event(f"mandates set up: {mandates.count()}")


def _renewed_once(world) -> History:
    history = world()
    for action in [("setup", "premium_monthly", "approve"), ("jump", "notice"), ("jump", "debit")]:
        history.run(action)
        check(history)
    assert Renewal.objects.get(mandate__user=history.user).state == RenewalState.SUCCEEDED
    return history


def test_the_checks_see_a_period_taken_back_without_a_refund(world):
    """Guard against a vacuous property: a renewal's grant revoked with no refund trips (a) and (c)."""
    history = _renewed_once(world)
    renewal = Renewal.objects.get(mandate__user=history.user)
    with time_machine.travel(history.now, tick=False):
        Grant.objects.filter(payment=renewal.payment).update(state=GrantState.REVOKED, revoked_at=timezone.now())
    with pytest.raises(AssertionError):
        check(history)
    assert not Refund.objects.filter(payment=renewal.payment).exists()


def test_the_checks_see_a_debit_nobody_recorded_and_a_stuck_job(world):
    """A debit PhonePe took whose callbacks are lost, before any job ran, trips (a); a job left `doing`, (b)."""
    history = world()
    history.run(("setup", "premium_monthly", "approve"))
    history.run(("jump", "notice"))
    renewal = Renewal.objects.get(mandate__user=history.user)
    assert renewal.state == RenewalState.NOTIFIED
    history.now = renewal.debit_after + HOUR
    with time_machine.travel(history.now, tick=False):
        order = history.server.state.orders[renewal.merchant_order_id]
        order.auto_debit = True  # PhonePe debits by itself as its clock moves, and nobody tells us
        history.autopay_sim.advance(0)
    history.callbacks.clear()
    assert history.server.state.orders[renewal.merchant_order_id].state == "COMPLETED"
    with pytest.raises(AssertionError, match="no payment recorded"):
        check(history)

    history.quiesce()  # the jobs find it: recorded and granted
    check(history)
    autopay_tasks.advance_mandate.defer(mandate_id=str(renewal.mandate_id))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE status = 'todo'")
    with pytest.raises(AssertionError):
        check(history)


def test_a_worker_sigkilled_while_phonepe_takes_the_debit_then_autopay_turned_off(
    world, worker_processes, make_auth_client, monkeypatch, settings
):
    """A real worker process SIGKILLed after PhonePe took the debit, before it learnt so; every callback lost;
    the user turns Autopay off; the restarted engine (stalled-job recovery) finishes the job: the debit is
    recorded and refunded, nothing is stuck, and the audit agrees with PhonePe."""
    history = world()
    history.callbacks = None  # lost: nobody delivers them
    history.server.send_callback = lambda body, **kwargs: {"delivered": False}
    real_now = timezone.now()
    # A day ago: the set-up, and the pre-debit notice (due at once: a notice window longer than the month).
    settings.AUTOPAY_NOTIFY_BEFORE_HOURS = 800
    with time_machine.travel(real_now - 26 * HOUR, tick=False):
        client = make_auth_client(history.user)
        response = client.post(AUTOPAY, {"planId": "premium_monthly"}, format="json")
        assert response.status_code == 201
        mandate = Mandate.objects.select_related("setup_payment").get(pk=response.json()["data"]["id"])
        history.sim.complete(mandate.setup_payment.merchant_order_id)
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)  # activates (PhonePe's word), then notifies
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.NOTIFIED
    assert renewal.debit_after < real_now

    arrived, release = threading.Event(), threading.Event()
    original = SimulatorHandler._redeem

    def redeem_then_hang(handler, *, query):
        send = handler._send_json

        def answer_later(*args, **kwargs):
            arrived.set()
            release.wait(30)
            with contextlib.suppress(OSError):  # the worker that asked is dead
                send(*args, **kwargs)

        handler._send_json = answer_later
        return original(handler, query=query)

    monkeypatch.setattr(SimulatorHandler, "_redeem", redeem_then_hang)
    gateway = {
        "PHONEPE_PG_BASE_URL": history.server.pg_base_url,
        "PHONEPE_OAUTH_BASE_URL": history.server.pg_base_url,
        "PHONEPE_MAX_RETRIES": "0",
        "AUTOPAY_NOTIFY_BEFORE_HOURS": "800",
    }
    autopay_tasks.defer_advance(mandate.pk)
    (first,) = worker_processes.start(1, env=gateway)
    assert arrived.wait(30), first.log_tail()
    first.kill()  # PhonePe has taken the money; the worker never heard
    release.set()
    assert history.server.state.orders[renewal.merchant_order_id].state == "COMPLETED"
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.DEBITING
    assert [row["status"] for row in job_rows("autopay.advance_mandate")] == ["doing"]

    assert make_auth_client(history.user).delete(AUTOPAY).status_code == 200
    assert Mandate.objects.get(pk=mandate.pk).state == MandateState.CANCELLED

    (second,) = worker_processes.start(1, env=gateway, schedules={"manas360.retry_stalled_jobs": "* * * * * *"})
    wait_for(
        lambda: (
            Renewal.objects.get(pk=renewal.pk).state == RenewalState.SUCCEEDED
            and Refund.objects.filter(
                payment__merchant_order_id=renewal.merchant_order_id, sent_at__isnull=False
            ).exists()
        ),
        timeout=40,
        message="the stalled renewal job re-run and the debit refunded",
        workers=[second],
    )
    assert second.stop() == 0
    history.job_engine.run()  # what the stopped worker's last tick queued
    payment = Payment.objects.get(merchant_order_id=renewal.merchant_order_id)
    assert "turned off" in payment.refund_reason
    assert len(history.server.state.orders[renewal.merchant_order_id].payment_details) == 1  # debited once
    history.now = timezone.now()
    with connection.cursor() as cursor:  # the recovery job's own ticks are not the renewal's
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'manas360.retry_stalled_jobs'")
    check(history)
    audit_clean(history)
