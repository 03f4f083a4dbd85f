"""One registry of error codes: each code is one class, and the handler and the schema derive from the classes."""

from rest_framework import exceptions as drf

from accounts.errors import AccountSuspended, AdminMfaRequired, CsrfFailed
from manas360.api.errors import ApplicationError, codes_by_status, registered_codes, registered_errors
from manas360.api.exceptions import api_exception_handler
from staff.errors import NotATherapist


def test_each_code_is_defined_by_exactly_one_class():
    owners: dict[str, list[str]] = {}
    for cls in registered_errors():
        owners.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}


def test_every_apps_errors_module_is_in_the_registry():
    classes = set(registered_errors())
    assert {AccountSuspended, AdminMfaRequired, CsrfFailed, NotATherapist} <= classes
    assert ApplicationError not in classes  # its code is a placeholder, never sent


def test_a_code_answered_with_two_statuses_is_catalogued_under_both():
    catalogue = codes_by_status()
    assert "account_suspended" in catalogue[401]
    assert "account_suspended" in catalogue[403]
    assert "admin_mfa_required" in catalogue[403]
    assert "admin_mfa_required" not in catalogue.get(401, [])


def test_handler_keeps_a_registered_code_carried_by_a_drf_exception():
    response = api_exception_handler(drf.PermissionDenied(CsrfFailed.default_message, code=CsrfFailed.code), {})
    assert (response.status_code, response.data["code"]) == (403, "csrf_failed")
    response = api_exception_handler(drf.AuthenticationFailed("gone", code=AccountSuspended.code), {})
    assert (response.status_code, response.data["code"]) == (401, "account_suspended")


def test_handler_replaces_an_unregistered_drf_code_by_the_class_default():
    assert "authentication_failed" not in registered_codes()
    response = api_exception_handler(drf.AuthenticationFailed("nope"), {})
    assert (response.status_code, response.data["code"]) == (401, "token_invalid")
    response = api_exception_handler(drf.ParseError("bad"), {})
    assert (response.status_code, response.data["code"]) == (400, "invalid_json")
