"""Which entitlement opens which theme tier (the one place in rooms that knows it).

Whether a plan gives that entitlement is not decided here: `subscriptions.coverage` is the one definition of
what a plan covers (e.g. `premium_themed_rooms` includes both AR tiers), shared with the ledger that refuses a
purchase giving nothing new. Rooms and the ledger therefore never disagree about what a plan opens.
"""

from rooms.models import ThemeTier
from subscriptions.coverage import features_covered
from subscriptions.models import Entitlement

# The feature a tier needs (reported as `requiredFeature` when access is refused); free tiers need none.
TIER_FEATURE: dict[str, str | None] = {
    ThemeTier.FREE: None,
    ThemeTier.PREMIER: Entitlement.AR_PREMIER_ROOMS.value,
    ThemeTier.PLUS: Entitlement.AR_PLUS_ROOMS.value,
}


def tier_is_open(tier: str, entitlements: frozenset[str]) -> bool:
    """Is `tier` open to someone holding `entitlements` (a plan's listed features)?"""
    if tier not in TIER_FEATURE:  # unknown tier: closed, never a 500
        return False
    feature = TIER_FEATURE[tier]
    return feature is None or feature in features_covered(entitlements)


def tier_required_feature(tier: str) -> str | None:
    return TIER_FEATURE.get(tier)
