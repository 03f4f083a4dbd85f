"""Per-request values that log lines and error bodies need, without passing `request` around."""

from contextvars import ContextVar, Token

_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_user_id: ContextVar[str | None] = ContextVar("user_id", default=None)


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> Token[str]:
    return _request_id.set(value)


def reset_request_id(token: Token[str]) -> None:
    _request_id.reset(token)


def current_user_id() -> str | None:
    return _user_id.get()


def set_user_id(value: str | None) -> None:
    _user_id.set(value)


# The background job being run (set by manas360.jobs.job_context_middleware): (job id, task name).
_job: ContextVar[tuple[int | None, str] | None] = ContextVar("job", default=None)


def current_job() -> tuple[int | None, str] | None:
    return _job.get()


def set_job(value: tuple[int | None, str] | None) -> Token[tuple[int | None, str] | None]:
    return _job.set(value)


def reset_job(token: Token[tuple[int | None, str] | None]) -> None:
    _job.reset(token)
