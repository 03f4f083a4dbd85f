"""OpenAPI description of TokenSessionAuthentication (Bearer header or access_token cookie)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenSessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TokenSessionAuthentication"
    name = ["bearerAuth", "cookieAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {"type": "apiKey", "in": "cookie", "name": "access_token"},
        ]
