"""Reference plans (docs/api.md §4): prices from the web client's pricing, idempotent on `code`."""

from io import TextIOBase
from typing import Any

from subscriptions.models import Entitlement, Plan, PlanPeriod, PlanType

_PREMIUM_FEATURES = [
    Entitlement.PREMIUM_THEMED_ROOMS,
    Entitlement.THERAPY_SESSIONS,
    Entitlement.AI_COMPANION,
    Entitlement.SOUND_TRACKS,
    Entitlement.BASIC_CONTENT,
]

# `track_single` is a one-time purchase of the sound-therapy library for 30 days
# (the contract gives no duration; see docs/payments.md).
PLANS: list[dict[str, Any]] = [
    {
        "code": "healer_free",
        "name": "Healer Free",
        "display_name": "Healer (Free)",
        "description": "Free content for everyone.",
        "amount_paise": 0,
        "period": PlanPeriod.LIFETIME,
        "duration_days": None,
        "type": PlanType.ONE_TIME,
        "features": [Entitlement.BASIC_CONTENT],
        "display_order": 0,
    },
    {
        "code": "premium_monthly",
        "name": "Premium Monthly",
        "display_name": "Buddy (Premium Monthly)",
        "description": "All premium themed rooms, therapy sessions, the AI companion and sound tracks.",
        "amount_paise": 29900,
        "period": PlanPeriod.MONTH,
        "duration_days": 30,
        "type": PlanType.RECURRING,
        "features": _PREMIUM_FEATURES,
        "is_featured": True,
        "display_order": 10,
    },
    {
        "code": "premium_yearly",
        "name": "Premium Yearly",
        "display_name": "Guru (Premium Yearly)",
        "description": "Everything in Premium, billed yearly.",
        "amount_paise": 299900,
        "period": PlanPeriod.YEAR,
        "duration_days": 365,
        "type": PlanType.RECURRING,
        "features": _PREMIUM_FEATURES,
        "display_order": 20,
    },
    {
        "code": "anytimebuddy_lifetime",
        "name": "AnytimeBuddy Lifetime",
        "display_name": "AnytimeBuddy (Lifetime)",
        "description": "Everything in Premium, for life, with one payment.",
        "amount_paise": 999900,
        "period": PlanPeriod.LIFETIME,
        "duration_days": None,
        "type": PlanType.ONE_TIME,
        "features": _PREMIUM_FEATURES,
        "display_order": 30,
    },
    {
        "code": "track_single",
        "name": "Single Track",
        "display_name": "Sound Track (30 days)",
        "description": "The sound-therapy tracks for 30 days, one payment.",
        "amount_paise": 3000,
        "period": PlanPeriod.ONE_TIME,
        "duration_days": 30,
        "type": PlanType.ONE_TIME,
        "features": [Entitlement.SOUND_TRACKS],
        "display_order": 40,
    },
    {
        "code": "ar_premier",
        "name": "AR Premier",
        "display_name": "AR Themed Rooms: Premier",
        "description": "Premier-tier AR themed rooms.",
        "amount_paise": 9900,
        "period": PlanPeriod.MONTH,
        "duration_days": 30,
        "type": PlanType.RECURRING,
        "features": [Entitlement.AR_PREMIER_ROOMS, Entitlement.BASIC_CONTENT],
        "display_order": 50,
    },
    {
        "code": "ar_plus",
        "name": "AR Plus",
        "display_name": "AR Themed Rooms: Plus",
        "description": "Plus- and premier-tier AR themed rooms.",
        "amount_paise": 19900,
        "period": PlanPeriod.MONTH,
        "duration_days": 30,
        "type": PlanType.RECURRING,
        "features": [Entitlement.AR_PLUS_ROOMS, Entitlement.AR_PREMIER_ROOMS, Entitlement.BASIC_CONTENT],
        "display_order": 60,
    },
]


def run(*, stdout: TextIOBase, demo_accounts: bool) -> None:
    """Create missing plans. Existing rows are left alone: after the first seed, staff own
    prices and flags through the Django admin, and a re-seed must not undo their edits."""
    for spec in PLANS:
        values = {key: value for key, value in spec.items() if key != "code"}
        values["features"] = [str(feature) for feature in values["features"]]
        values.setdefault("is_featured", False)
        values.setdefault("is_active", True)
        values["currency"] = "INR"
        Plan.objects.get_or_create(code=spec["code"], defaults=values)
    stdout.write(f"Plans: {', '.join(spec['code'] for spec in PLANS)}")
