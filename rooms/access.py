"""Which entitlements open which theme tier (the one place that knows it)."""

from rooms.models import ThemeTier
from subscriptions.models import Entitlement

# A tier is open when the caller holds ANY of these entitlements. The first one is the
# tier's own feature, reported as `requiredFeature` when access is refused.
TIER_ENTITLEMENTS: dict[str, tuple[str, ...]] = {
    ThemeTier.FREE: (),
    ThemeTier.PREMIER: (Entitlement.AR_PREMIER_ROOMS.value, Entitlement.PREMIUM_THEMED_ROOMS.value),
    ThemeTier.PLUS: (Entitlement.AR_PLUS_ROOMS.value, Entitlement.PREMIUM_THEMED_ROOMS.value),
}


def tier_is_open(tier: str, entitlements: frozenset[str]) -> bool:
    required = TIER_ENTITLEMENTS.get(tier)
    if required is None:  # unknown tier: closed, never a 500
        return False
    return not required or not entitlements.isdisjoint(required)


def tier_required_feature(tier: str) -> str | None:
    required = TIER_ENTITLEMENTS.get(tier) or ()
    return required[0] if required else None
