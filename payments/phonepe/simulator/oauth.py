"""`POST /v1/oauth/token`: client credentials in, an O-Bearer token with a configurable lifetime out."""

import secrets
import time

from payments.phonepe.simulator.http import Route, SimulatorHTTP


class OAuthRoutes(SimulatorHTTP):
    ROUTES: list[Route] = [("POST", r"/v1/oauth/token", "_token")]

    def _token(self, *, query):
        if self._fault("token"):
            return None
        form = self._form_body()
        config = self.state.config
        valid = (
            form.get("grant_type") == "client_credentials"
            and secrets.compare_digest(form.get("client_id", ""), config["client_id"])
            and secrets.compare_digest(form.get("client_secret", ""), config["client_secret"])
            and form.get("client_version", "") == str(config["client_version"])
        )
        if not valid:
            return self._send_json(
                400,
                {
                    "code": "INVALID_CLIENT",
                    "errorCode": "OIM000",
                    "message": "Bad Request - Invalid client",
                    "context": {"error_description": "Client Not Found"},
                },
            )
        token = "SIMTOKEN" + secrets.token_hex(16)
        issued_at = int(time.time())
        expires_at = issued_at + int(config["token_ttl_seconds"])
        with self.state.lock:
            self.state.tokens[token] = expires_at
        return self._send_json(
            200,
            {
                "access_token": token,
                "encrypted_access_token": token,
                "expires_in": None,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "session_expires_at": expires_at,
                "token_type": "O-Bearer",
            },
        )
