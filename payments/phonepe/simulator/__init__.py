"""A local PhonePe simulator: Standard Checkout v2, refunds and Subscriptions v2 (UPI Autopay).

It speaks the same endpoints, token flow and callback signing as PhonePe, on its own
port, over plain HTTP on loopback, so our client (or PhonePe's own SDK pointed at it)
runs unchanged. See docs/phonepe-simulator.md for every endpoint and control.

Modules, one responsibility each:

* `state`: the in-memory orders, refunds, subscriptions, tokens, faults and the movable clock;
* `http`: request/response plumbing, URL prefixes, O-Bearer checks, fault injection, routing;
* `oauth`, `checkout`, `refunds`, `subscriptions`, `control`: the routes of each area;
* `orders`, `mandates`: what PhonePe does to an order or an Autopay subscription (no HTTP);
* `server`: the HTTP server, the signed callback sender and `start_simulator`.

Start it with `manage.py phonepe_simulator` or, from tests, `start_simulator(...)`.
"""

from payments.phonepe.simulator.server import PhonePeSimulator, start_simulator

__all__ = ["PhonePeSimulator", "start_simulator"]
