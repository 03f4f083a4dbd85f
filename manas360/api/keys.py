"""Response keys the camelCase renderer leaves as written (settings.JSON_CAMEL_CASE `ignore_keys`).

Kept free of imports so that the settings module can name it.
"""


class VerbatimKey(str):
    """A response key written exactly as given, never camelized: for the one place a client reads a key in
    snake_case (the web app reads `created_at` on `/admin/users` rows, docs/api.md "Field names")."""

    __slots__ = ()


class VerbatimKeys:
    """djangorestframework-camel-case's `ignore_keys` asks `key in ignore_keys`: exactly the VerbatimKey keys."""

    def __contains__(self, key: object) -> bool:
        return type(key) is VerbatimKey

    def __bool__(self) -> bool:  # the library treats a false option as "none given"
        return True
