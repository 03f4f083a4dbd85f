"""Controls for tests and demos that are not about one order: faults, tokens, reset, journals, health."""

from payments.phonepe.simulator.http import Route, SimulatorHTTP


class ControlRoutes(SimulatorHTTP):
    ROUTES: list[Route] = [
        ("POST", r"/simulator/faults", "_faults"),
        ("POST", r"/simulator/tokens/revoke", "_revoke_tokens"),
        ("POST", r"/simulator/reset", "_reset"),
        ("GET", r"/simulator/webhooks", "_webhooks"),
        ("GET", r"/simulator/requests", "_requests"),
        ("GET", r"/health", "_health"),
    ]

    def _faults(self, *, query):
        """`{"operation": "token|pay|order_status|refund|refund_status|notify|redeem|subscription_*",
        "status": 503, "count": 1}`; status 0 drops the connection."""
        body = self._json_body()
        with self.state.lock:
            queue = self.state.faults.setdefault(str(body.get("operation")), [])
            queue.extend([int(body.get("status", 500))] * int(body.get("count", 1)))
        return self._send_json(200, {"ok": True})

    def _revoke_tokens(self, *, query):
        with self.state.lock:
            self.state.tokens.clear()
        return self._send_json(200, {"ok": True})

    def _reset(self, *, query):
        self.state.reset()
        return self._send_json(200, {"ok": True})

    def _webhooks(self, *, query):
        with self.state.lock:
            return self._send_json(200, {"webhooks": list(self.state.webhooks)})

    def _requests(self, *, query):
        with self.state.lock:
            return self._send_json(200, {"requests": list(self.state.requests)})

    def _health(self, *, query):
        return self._send_json(200, {"status": "ok"})
