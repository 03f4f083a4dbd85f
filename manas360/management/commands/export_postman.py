"""`manage.py export_postman --output docs/manas360.postman_collection.json`: a Postman v2.1 collection.

Built from the OpenAPI schema (drf_spectacular's SchemaGenerator), so it covers every endpoint the schema has,
one folder per API area. On top of that:

* collection variables `baseUrl` (default http://localhost:5000), `accessToken`, `refreshToken`, `phone`, `otp`,
  `adminEmail`, `adminPassword`, `mfaToken`, `mfaCode`;
* bearer auth `{{accessToken}}` at collection level (sign-in requests use none);
* a "Sign in" folder first: send-otp (keeps `data.devOtp` as `otp` when the development fixed code is on),
  verify-otp (its test script saves `data.tokens.accessToken`/`refreshToken`), admin-login (saves `mfaToken`,
  or the restricted session's token), verify-mfa (saves the admin's token), refresh;
* a "Health and metrics" folder (those routes sit outside /api/v1 and the schema).

The output is deterministic (stable ids, sorted), so regenerating it changes the file only when the API does.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from manas360.api.openapi_operations import METHODS

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NAMESPACE = uuid.UUID("3d6f1c1e-7a0b-4c55-9a1e-5a3e0c0d3600")
FOLDER_TITLES = {
    "auth": "Auth",
    "users": "Users",
    "subscriptions": "Subscriptions",
    "payments": "Payments",
    "themed-rooms": "Themed rooms",
    "admin": "Admin",
    "analytics": "Analytics",
}

SAVE_TOKENS = """const body = pm.response.json();
pm.test("signed in", () => pm.expect(pm.response.code).to.equal(200));
const tokens = (body.data || {}).tokens;
if (tokens && tokens.accessToken) {
    pm.collectionVariables.set("accessToken", tokens.accessToken);
    pm.collectionVariables.set("refreshToken", tokens.refreshToken || "");
}"""

SIGN_IN: list[dict[str, Any]] = [
    {
        "name": "1. Send OTP",
        "path": "/api/v1/auth/send-otp",
        "body": {"phone": "{{phone}}"},
        "description": "Sends a 6-digit code to `phone` (or `email`). With DEBUG=1 and OTP_DEV_FIXED_CODE set the "
        "answer carries `data.devOtp`, which this request stores in `otp`; otherwise read the code from the "
        "server log (development) or the SMS, and set the `otp` variable yourself.",
        "test": """const body = pm.response.json();
pm.test("code sent", () => pm.expect(pm.response.code).to.equal(200));
if (body.data && body.data.devOtp) { pm.collectionVariables.set("otp", body.data.devOtp); }""",
    },
    {
        "name": "2. Verify OTP (saves accessToken)",
        "path": "/api/v1/auth/verify-otp",
        "body": {"phone": "{{phone}}", "otp": "{{otp}}"},
        "description": "Signs in (first time: signs up as a patient). Saves `data.tokens.accessToken` into the "
        "`accessToken` collection variable, which every other request sends as a Bearer token.",
        "test": SAVE_TOKENS,
    },
    {
        "name": "3. Admin login (password)",
        "path": "/api/v1/auth/admin-login",
        "body": {"email": "{{adminEmail}}", "password": "{{adminPassword}}"},
        "description": "MFA enrolled: answers `mfaToken` (saved); continue with 4. Not enrolled: a restricted session "
        "(token saved) that can only enrol MFA under Admin > admin/mfa (generate-secret, then enable).",
        "test": """const body = pm.response.json();
if (body.mfaToken) { pm.collectionVariables.set("mfaToken", body.mfaToken); }
const tokens = (body.data || {}).tokens;
if (tokens && tokens.accessToken) { pm.collectionVariables.set("accessToken", tokens.accessToken); }""",
    },
    {
        "name": "4. Admin verify MFA (saves accessToken)",
        "path": "/api/v1/auth/admin-login/verify-mfa",
        "body": {"mfaToken": "{{mfaToken}}", "mfaCode": "{{mfaCode}}"},
        "description": "Set `mfaCode` to the current code of the authenticator app (or a backup code).",
        "test": SAVE_TOKENS,
    },
    {
        "name": "5. Refresh (saves the new tokens)",
        "path": "/api/v1/auth/refresh",
        "body": {"refreshToken": "{{refreshToken}}"},
        "description": "Rotates the refresh token (single use) and issues a new access token.",
        "test": SAVE_TOKENS,
    },
]


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _resolve(schema: dict, components: dict, depth: int = 0) -> dict:
    while "$ref" in schema and depth < 10:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        depth += 1
    return schema


def _example(schema: dict, components: dict, depth: int = 0):
    """A small example body from a JSON schema: the schema's example, else a value per property."""
    schema = _resolve(schema or {}, components)
    if "example" in schema:
        return schema["example"]
    if depth > 4:
        return None
    for combinator in ("allOf", "oneOf", "anyOf"):
        if schema.get(combinator):
            return _example(schema[combinator][0], components, depth + 1)
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _example(prop, components, depth + 1)
            for name, prop in (schema.get("properties") or {}).items()
            if not prop.get("readOnly")
        }
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return 0
    if kind == "boolean":
        return False
    if kind == "string":
        examples: dict[object, str] = {
            "date": "2026-01-31",
            "date-time": "2026-01-31T00:00:00Z",
            "uuid": str(uuid.UUID(int=0)),
        }
        return examples.get(schema.get("format"), "")
    return None


def _media_example(media: dict, components: dict):
    """The operation's documented example (manas360/api/openapi_operations.py), else one built from the schema."""
    examples = media.get("examples") or {}
    if examples:
        return next(iter(examples.values())).get("value")
    if "example" in media:
        return media["example"]
    return _example(media.get("schema", {}), components)


def _url(path: str, parameters: list[dict]) -> dict:
    postman_path = re.sub(r"\{([^}]+)\}", r":\1", path)
    segments = [segment for segment in postman_path.strip("/").split("/") if segment]
    query = [
        {"key": p["name"], "value": "", "description": (p.get("description") or "").strip(), "disabled": True}
        for p in parameters
        if p.get("in") == "query"
    ]
    variables = [
        {"key": p["name"], "value": "", "description": (p.get("description") or "").strip()}
        for p in parameters
        if p.get("in") == "path"
    ]
    url: dict[str, Any] = {"raw": "{{baseUrl}}" + postman_path, "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["query"] = query
        url["raw"] += "?" + "&".join(f"{q['key']}=" for q in query)
    if variables:
        url["variable"] = variables
    return url


def _body(example) -> dict:
    return {"mode": "raw", "raw": json.dumps(example, indent=2), "options": {"raw": {"language": "json"}}}


def build_collection(schema: dict, *, base_url: str = "http://localhost:5000") -> dict:
    components = schema.get("components", {}).get("schemas", {})
    folders: dict[str, list[dict]] = {}
    for path in sorted(schema.get("paths", {})):
        item = schema["paths"][path]
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            request: dict[str, Any] = {
                "method": method.upper(),
                "header": [
                    {"key": p["name"], "value": "", "disabled": True} for p in parameters if p.get("in") == "header"
                ],
                "url": _url(path, parameters),
                "description": (operation.get("description") or operation.get("summary") or "").strip(),
            }
            request_body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in request_body:
                request["header"].insert(0, {"key": "Content-Type", "value": "application/json"})
                request["body"] = _body(_media_example(request_body["application/json"], components))
            security = operation.get("security")
            if security is not None and security and all(entry == {} for entry in security):
                request["auth"] = {"type": "noauth"}
            area = path.removeprefix("/api/v1/").split("/", 1)[0] if path.startswith("/api/v1/") else "other"
            folders.setdefault(area, []).append(
                {
                    "id": _id(method, path),
                    "name": f"{method.upper()} {path.removeprefix('/api/v1')}",
                    "request": request,
                    "response": [],
                }
            )

    sign_in = []
    for step in SIGN_IN:
        sign_in.append(
            {
                "id": _id("sign-in", step["path"]),
                "name": step["name"],
                "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": step["test"].splitlines()}}],
                "request": {
                    "auth": {"type": "noauth"},
                    "method": "POST",
                    "header": [{"key": "Content-Type", "value": "application/json"}],
                    "body": _body(step["body"]),
                    "url": _url(step["path"], []),
                    "description": step["description"],
                },
                "response": [],
            }
        )
    health = [
        {
            "id": _id("health", path),
            "name": f"GET {path}",
            "request": {"auth": {"type": "noauth"}, "method": "GET", "header": [], "url": _url(path, [])},
            "response": [],
        }
        for path in ("/health", "/health/db", "/health/ready", "/metrics")
    ]
    items = [
        {"name": "Sign in", "description": "Run 1 and 2 (patient) or 3 and 4 (admin) first.", "item": sign_in},
        {"name": "Health and metrics", "item": health},
    ]
    order = list(FOLDER_TITLES)
    for area in sorted(folders, key=lambda name: (order.index(name) if name in order else len(order), name)):
        items.append({"name": FOLDER_TITLES.get(area, area), "item": folders[area]})

    info = schema.get("info", {})
    return {
        "info": {
            "_postman_id": _id("collection"),
            "name": f"{info.get('title', 'MANAS360 API')} {info.get('version', '')}".strip(),
            "description": "Generated from the OpenAPI schema by `make postman` "
            "(manage.py export_postman). Start with the Sign in folder: 1 and 2 save the patient's access token, "
            "3 and 4 the admin's; every other request sends `Authorization: Bearer {{accessToken}}`. Set `baseUrl` "
            "to your server.\n\n" + info.get("description", ""),
            "schema": SCHEMA_URL,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}", "type": "string"}]},
        "variable": [
            {"key": "baseUrl", "value": base_url},
            {"key": "accessToken", "value": ""},
            {"key": "refreshToken", "value": ""},
            {"key": "phone", "value": "+919876543210"},
            {"key": "otp", "value": ""},
            {"key": "adminEmail", "value": "admin@manas360.local"},
            {"key": "adminPassword", "value": "Admin-pass-123!"},
            {"key": "mfaToken", "value": ""},
            {"key": "mfaCode", "value": ""},
        ],
        "item": items,
    }


def generate_schema() -> dict:
    """The OpenAPI schema as plain JSON data (through drf-spectacular's JSON renderer: lazy strings resolved)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


class Command(BaseCommand):
    help = "Write a Postman v2.1 collection of the whole API, generated from the OpenAPI schema."

    def add_arguments(self, parser):
        parser.add_argument("--output", default="docs/manas360.postman_collection.json")
        parser.add_argument("--base-url", default="http://localhost:5000")

    def handle(self, *args, **options):
        collection = build_collection(generate_schema(), base_url=options["base_url"])
        text = json.dumps(collection, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        if options["output"] == "-":
            self.stdout.write(text, ending="")
            return
        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        count = sum(len(folder["item"]) for folder in collection["item"])
        self.stdout.write(f"Wrote {output} ({count} requests).")
