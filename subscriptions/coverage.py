"""What a plan covers: the one definition of "which features a plan gives", shared by the ledger and by access.

A plan's `features` lists entitlement names; some of them include others. `premium_themed_rooms` ("all premium
themed rooms") opens every paid room tier, so a plan that holds it covers `ar_premier_rooms` and `ar_plus_rooms`
too, although it does not list them. Everything that asks "does this plan give X?" asks here:

* the ledger (`subscriptions.entitlements.place`): a plan gives something new only if it covers a feature that
  the plans the user holds do not; a plan covered by them is refused (docs/payments.md, rule 3);
* room access (`rooms.access`): a tier is open when the caller's plan covers the tier's feature.

Pure functions of feature names (no queries), cached: room access calls them once per theme card.
"""

from collections.abc import Iterable
from functools import lru_cache

from subscriptions.models import Entitlement, Plan

# Entitlement -> the entitlements it includes besides itself. One level is enough today; `features_covered`
# follows chains anyway, so adding an entry never needs the readers to change.
INCLUDES: dict[str, frozenset[str]] = {
    Entitlement.PREMIUM_THEMED_ROOMS.value: frozenset(
        {Entitlement.AR_PREMIER_ROOMS.value, Entitlement.AR_PLUS_ROOMS.value}
    ),
}


@lru_cache(maxsize=256)
def _closure(features: frozenset[str]) -> frozenset[str]:
    covered = set(features)
    pending = list(features)
    while pending:
        for included in INCLUDES.get(pending.pop(), frozenset()):
            if included not in covered:
                covered.add(included)
                pending.append(included)
    return frozenset(covered)


def features_covered(features: Iterable[str]) -> frozenset[str]:
    """Every entitlement that holding `features` gives: the names themselves and what they include."""
    return _closure(features if isinstance(features, frozenset) else frozenset(features))


def features_covered_by(plan: Plan) -> frozenset[str]:
    """Every entitlement `plan` gives (its listed features and what they include)."""
    return features_covered(plan.features or ())


def plan_covers(plan: Plan, feature: str) -> bool:
    """Does `plan` give `feature` (listed, or included in one it lists)?"""
    return feature in features_covered_by(plan)
