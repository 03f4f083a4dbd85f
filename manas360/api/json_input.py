"""Reading JSON sent by clients (request bodies, the payment gateway's callback).

`json.loads` accepts two things the rest of the stack cannot handle, and both are the client's mistake, so
both are refused here as malformed JSON (400 `invalid_json`) instead of failing later as a 500:

* Deep nesting. A kilobyte of `[[[[…` is parsed, then breaks every recursive walk after it (camelCase
  conversion, renderers, the database driver's JSON adapter) with RecursionError. No body of this API nests
  deeper than a few levels; MAX_JSON_DEPTH leaves ample room.
* Lone UTF-16 surrogates (`"\\ud800"`). Python keeps them in `str`, but they cannot be encoded as UTF-8, so
  hashing a throttle key or sending the value to PostgreSQL raises UnicodeEncodeError.
"""

import json
from typing import Any

MAX_JSON_DEPTH = 32


class MalformedJson(ValueError):
    """The bytes are not JSON this API accepts (syntax, encoding, nesting or lone surrogates)."""


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json_value(value: object, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise MalformedJson when `value` (decoded JSON) nests deeper than max_depth or holds a lone surrogate.

    Iterative, so the check itself cannot hit the recursion limit.
    """
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not _is_encodable(item):
                raise MalformedJson("A string contains an unpaired UTF-16 surrogate.")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > max_depth:
            raise MalformedJson(f"JSON nested deeper than {max_depth} levels.")
        if isinstance(item, dict):
            for key, child in item.items():
                if not _is_encodable(key):
                    raise MalformedJson("A key contains an unpaired UTF-16 surrogate.")
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item)


def loads_strict(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode UTF-8 JSON and check it (see the module docstring); MalformedJson on any problem."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedJson(str(exc)) from exc
    check_json_value(value, max_depth=max_depth)
    return value
