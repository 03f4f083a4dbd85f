"""`manage.py seed --demo`: 90 days of realistic activity so the analytics screens and exports show data.

Development only. It adds demo patients (emails at @demo.manas360.local) who joined over the last 90 days,
their themed-room sessions (ratings, moods), PHQ-9/GAD-7 assessments before and after, payments with the
subscriptions they bought, a few failed payments and one completed refund. The plain seed stays minimal.

Deterministic (a fixed random seed, times relative to now) and idempotent: when demo patients exist the
command leaves everything as it is. Rows are written directly (the services stamp "now"; history needs past
times), keeping what the services guarantee: theme counters match the completed sessions, points follow the
rooms formula, every successful payment holds the subscription it paid for, the refunded one holds none.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from accounts.models import User
from accounts.roles import Role
from analytics.models import Assessment, AssessmentPhase, AssessmentType
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from rooms.models import RoomSession, RoomSessionStatus, Theme, ThemeTier
from rooms.services import room_session_points
from subscriptions.entitlements import entitlement_grant, entitlement_revoke
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.models import Plan
from subscriptions.services import subscriptions_expire

DEMO_EMAIL_DOMAIN = "demo.manas360.local"
DAYS = 90
PATIENTS = 40
SESSIONS = 360
ABANDONED_EVERY = 5  # one session in five is abandoned
PHQ9_PAIRS = 24  # patients with a PHQ-9 before and after
GAD7_PAIRS = 16
# Plan bought by each paying patient, in order; the first premium_monthly purchase is refunded.
PURCHASES = ["premium_monthly"] * 9 + ["premium_yearly"] * 4 + ["ar_premier"] * 3 + ["track_single"] * 2
PURCHASES += ["anytimebuddy_lifetime"]
FAILED_PAYMENTS = 3
REFUND_REASON = "Demo: charged twice"

_FIRST_NAMES = ["Aarav", "Diya", "Ishaan", "Ananya", "Kabir", "Meera", "Rohan", "Saanvi", "Vihaan", "Priya"]
_LAST_NAMES = ["Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Patel", "Rao", "Menon", "Das", "Kulkarni"]
_LANGUAGES = ["en", "hi", "kn", "ta", "te", "ml", "mr", "bn"]


@dataclass(frozen=True)
class DemoSummary:
    patients: int
    sessions: int
    completed_sessions: int
    assessments: int
    successful_payments: int
    failed_payments: int
    refunds: int


def demo_activity_exists() -> bool:
    return User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").exists()


@transaction.atomic
def demo_activity_create(*, now: datetime, seed: int = 360) -> DemoSummary | None:
    """Create the demo activity; None (and nothing written) when it is already there."""
    if demo_activity_exists():
        return None
    rng = random.Random(seed)  # noqa: S311 (reproducible made-up data, nothing secret)
    patients = _patients(rng, now)
    sessions = _sessions(rng, now, patients)
    assessments = _assessments(rng, now, patients)
    payments = _payments(rng, now, patients)
    # Periods bought long ago have run out: move them on as the periodic expiry job would.
    subscriptions_expire(now=now)
    return DemoSummary(
        patients=len(patients),
        sessions=len(sessions),
        completed_sessions=sum(s.status == RoomSessionStatus.COMPLETED for s in sessions),
        assessments=len(assessments),
        **payments,
    )


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random moment in [start, end), in whole minutes."""
    span = max(int((end - start).total_seconds()), 60)
    moment = start + timedelta(seconds=rng.randrange(span))
    return moment.replace(second=0, microsecond=0)


def _patients(rng: random.Random, now: datetime) -> list[User]:
    patients = []
    for number in range(1, PATIENTS + 1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        user = User.objects.create_user(
            email=f"demo-patient-{number:02d}@{DEMO_EMAIL_DOMAIN}",
            first_name=first,
            last_name=last,
            role=Role.PATIENT,
            is_verified=True,
            language=rng.choice(_LANGUAGES),
        )
        # Joined some time in the last 90 days, earlier patients earlier (a growing user base).
        joined = now - timedelta(days=DAYS) + timedelta(days=(number - 1) * DAYS / PATIENTS + rng.random())
        User.objects.filter(pk=user.pk).update(created_at=joined, last_login=joined)
        user.created_at = joined
        patients.append(user)
    return patients


def _sessions(rng: random.Random, now: datetime, patients: list[User]) -> list[RoomSession]:
    themes = list(Theme.objects.filter(is_active=True).order_by("display_order", "slug"))
    if not themes:
        return []
    free = [theme for theme in themes if theme.tier == ThemeTier.FREE] or themes
    paying = {user.pk for user in patients[: len(PURCHASES)]}
    rows: list[RoomSession] = []
    counters: dict[int, tuple[int, int, int]] = {}  # theme id -> (completed, rated, rating sum)
    for index in range(SESSIONS):
        # Spread over the whole period (every week has sessions), each by a patient who had joined by then.
        started = _at(rng, patients[0].created_at + timedelta(hours=1), now - timedelta(hours=2))
        user = rng.choice([patient for patient in patients if patient.created_at < started])
        choices = themes if user.pk in paying else free
        theme = rng.choice(choices)
        planned = theme.duration_seconds
        abandoned = index % ABANDONED_EVERY == ABANDONED_EVERY - 1
        mood_before = rng.randint(3, 7)
        if abandoned:
            duration = rng.randint(30, max(planned // 3, 60))
            rows.append(
                RoomSession(
                    user=user,
                    theme=theme,
                    status=RoomSessionStatus.ABANDONED,
                    started_at=started,
                    ended_at=started + timedelta(seconds=duration),
                    duration_seconds=duration,
                    mood_before=mood_before,
                    device_type=rng.choice(["web", "android", "ios"]),
                )
            )
            continue
        session = _completed_session(rng, user=user, theme=theme, started=started, mood_before=mood_before)
        rows.append(session)
        count, rated, total = counters.get(theme.pk, (0, 0, 0))
        counters[theme.pk] = (count + 1, rated + (session.rating is not None), total + (session.rating or 0))
    RoomSession.objects.bulk_create(rows)
    _add_to_theme_counters(counters)
    return rows


def _completed_session(
    rng: random.Random, *, user: User, theme: Theme, started: datetime, mood_before: int
) -> RoomSession:
    """One finished session (the random draws in the order the seeded data has always used)."""
    planned = theme.duration_seconds
    duration = max(planned + rng.randint(-120, 60), 60)
    full_timer = duration >= planned
    rating = rng.choices([None, 3, 4, 5, 2], weights=[15, 15, 35, 30, 5])[0]
    return RoomSession(
        user=user,
        theme=theme,
        status=RoomSessionStatus.COMPLETED,
        started_at=started,
        ended_at=started + timedelta(seconds=duration),
        duration_seconds=duration,
        mood_before=mood_before,
        mood_after=min(mood_before + rng.choice([-1, 0, 1, 1, 2, 2, 3]), 10),
        rating=rating,
        completed_full_timer=full_timer,
        points=room_session_points(
            duration_seconds=duration, estimated_duration_seconds=planned, completed_full_timer=full_timer
        ),
        device_type=rng.choice(["web", "android", "ios"]),
    )


def _add_to_theme_counters(counters: dict[int, tuple[int, int, int]]) -> None:
    """The counters the API keeps on each theme (completed sessions and their ratings), kept in step."""
    for theme_pk, (count, rated, total) in counters.items():
        Theme.objects.filter(pk=theme_pk).update(
            session_count=F("session_count") + count,
            rating_count=F("rating_count") + rated,
            rating_sum=F("rating_sum") + total,
        )


def _assessments(rng: random.Random, now: datetime, patients: list[User]) -> list[Assessment]:
    rows = []
    for kind, pairs, worst in ((AssessmentType.PHQ9, PHQ9_PAIRS, 27), (AssessmentType.GAD7, GAD7_PAIRS, 21)):
        for user in patients[:pairs]:
            pre_at = user.created_at + timedelta(hours=rng.randint(1, 48))
            post_at = min(pre_at + timedelta(days=rng.randint(21, 42)), now - timedelta(hours=1))
            pre = rng.randint(worst // 3, worst * 3 // 4)
            post = max(pre - rng.choice([-1, 0, 2, 3, 4, 5, 6]), 0)
            rows.append(Assessment(user=user, type=kind, phase=AssessmentPhase.PRE, score=pre, taken_at=pre_at))
            rows.append(
                Assessment(user=user, type=kind, phase=AssessmentPhase.POST, score=min(post, worst), taken_at=post_at)
            )
    Assessment.objects.bulk_create(rows)
    return rows


def _order_id(rng: random.Random) -> str:
    return f"M360_{uuid.UUID(int=rng.getrandbits(128)).hex}"


def _payments(rng: random.Random, now: datetime, patients: list[User]) -> dict[str, int]:
    plans = {plan.code: plan for plan in Plan.objects.filter(code__in=set(PURCHASES))}
    successful, refunds = 0, 0
    for user, code in zip(patients, PURCHASES, strict=False):
        plan = plans.get(code)
        if plan is None:
            continue
        paid_at = _at(rng, user.created_at + timedelta(hours=1), now - timedelta(hours=3))
        refund_this = code == "premium_monthly" and refunds == 0
        if refund_this:
            # Refund a recent purchase: its subscription would otherwise still be current.
            paid_at = now - timedelta(days=3)
        payment = Payment.objects.create(
            user=user,
            product=PLAN_PRODUCT,
            product_ref=plan.code,
            merchant_order_id=_order_id(rng),
            gateway_order_id=f"OMO{rng.getrandbits(64):016X}",
            amount_paise=plan.amount_paise,
            currency=plan.currency,
            status=PaymentStatus.SUCCESS,
            gateway_state="COMPLETED",
            payment_mode=rng.choice(["UPI_INTENT", "UPI_COLLECT", "CARD", "NET_BANKING"]),
            completed_at=paid_at,
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=paid_at - timedelta(minutes=2))
        # Through the ledger, as a real purchase: the grant and the subscription it derives, at the payment's time.
        entitlement_grant(user=user, plan=plan, payment=payment, now=paid_at)
        if refund_this:
            _refund(rng, payment, now=now - timedelta(days=1))
            refunds += 1
        else:
            successful += 1
    for _ in range(FAILED_PAYMENTS):
        user, plan = rng.choice(patients), plans.get("premium_monthly")
        if plan is None:
            break
        tried_at = _at(rng, user.created_at, now - timedelta(hours=3))
        payment = Payment.objects.create(
            user=user,
            product=PLAN_PRODUCT,
            product_ref=plan.code,
            merchant_order_id=_order_id(rng),
            amount_paise=plan.amount_paise,
            status=PaymentStatus.FAILED,
            gateway_state="FAILED",
            failure_reason="PAYMENT_DECLINED",
            completed_at=tried_at,
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=tried_at)
    return {"successful_payments": successful, "failed_payments": FAILED_PAYMENTS, "refunds": refunds}


def _refund(rng: random.Random, payment: Payment, *, now: datetime) -> None:
    """What a completed refund leaves: refund completed, payment refunded, what it bought taken back (ledger)."""
    Refund.objects.create(
        payment=payment,
        merchant_refund_id=f"R360_{uuid.UUID(int=rng.getrandbits(128)).hex}",
        gateway_refund_id=f"OMR{payment.gateway_order_id[3:]}",
        amount_paise=payment.amount_paise,
        status=RefundStatus.COMPLETED,
        reason=REFUND_REASON,
        completed_at=now,
    )
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.REFUNDED, refunded_at=now)
    entitlement_revoke(payment=payment, now=now)
