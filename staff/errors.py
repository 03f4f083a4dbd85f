"""Errors of the admin API (docs/api.md §7). Services raise these; the handler renders the envelope."""

from manas360.api.errors import ApplicationError


class NotATherapist(ApplicationError):
    code = "not_a_therapist"
    default_message = "Only therapists can be verified."


class CannotModifyOwnAccount(ApplicationError):
    code = "cannot_modify_own_account"
    default_message = "Admins cannot suspend, delete or change the role of their own account."
