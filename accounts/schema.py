"""OpenAPI description of TokenSessionAuthentication (Bearer header or access_token cookie)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenSessionAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular ships no types
    target_class = "accounts.authentication.TokenSessionAuthentication"
    match_subclasses = True  # subscriptions' subclass, the configured default, authenticates the same way
    name = ["bearerAuth", "cookieAuth"]

    def get_security_definition(self, auto_schema: object) -> list[dict[str, str]]:
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {"type": "apiKey", "in": "cookie", "name": "access_token"},
        ]

    def get_security_requirement(self, auto_schema: object) -> list[dict[str, list[str]]]:
        # Alternatives (either one authenticates), not one requirement naming both (= both at once).
        return [{"bearerAuth": []}, {"cookieAuth": []}]
