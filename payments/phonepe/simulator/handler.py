"""The request handler: every responsibility's routes in one table."""

import re

from payments.phonepe.simulator.checkout import CheckoutRoutes
from payments.phonepe.simulator.control import ControlRoutes
from payments.phonepe.simulator.oauth import OAuthRoutes
from payments.phonepe.simulator.refunds import RefundRoutes
from payments.phonepe.simulator.subscriptions import SubscriptionRoutes

_PARTS = (OAuthRoutes, CheckoutRoutes, RefundRoutes, SubscriptionRoutes, ControlRoutes)


class SimulatorHandler(OAuthRoutes, CheckoutRoutes, RefundRoutes, SubscriptionRoutes, ControlRoutes):
    ROUTE_TABLE = [(method, re.compile(pattern), name) for part in _PARTS for method, pattern, name in part.ROUTES]
