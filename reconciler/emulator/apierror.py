"""The error the emulator answers with, shaped as Salesforce's REST error body."""

from __future__ import annotations

from typing import Any


class ApiFault(Exception):
    """A Salesforce error: HTTP status, errorCode, message and the fields involved.

    Real orgs name the fields (``"fields": [...]``, maybe empty) only in errors about a
    record; an error about the request itself (the session, the limits, an unknown
    resource, a query) has no ``fields`` key at all (``shared/real-salesforce/errors.txt``):
    such faults are made with ``about_record=False``.
    """

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None,
        *, about_record: bool = True,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])
        self.about_record = about_record

    def body(self) -> list[dict[str, Any]]:
        """The REST error body: a JSON array of one error."""
        error: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.about_record:
            error["fields"] = self.fields
        return [error]

    def record_error(self) -> dict[str, Any]:
        """The per-record error of sObject Collections and composite results."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def bad_request(error_code: str, message: str, fields: list[str] | None = None) -> ApiFault:
    return ApiFault(400, error_code, message, fields)


def not_found() -> ApiFault:
    return ApiFault(404, "NOT_FOUND", "The requested resource does not exist",
                    about_record=False)


def invalid_session() -> ApiFault:
    """401 for a missing, expired or revoked session."""
    return ApiFault(401, "INVALID_SESSION_ID", "Session expired or invalid", about_record=False)


def row_locked(record_id: str | None, message: str = "") -> ApiFault:
    """UNABLE_TO_LOCK_ROW in real orgs' words, naming the locked record when known."""
    if not message:
        message = "unable to obtain exclusive access to this record"
        if record_id:
            message += f" or 1 records: {record_id}"
    return ApiFault(400, "UNABLE_TO_LOCK_ROW", message)


def method_not_allowed(method: str, allowed: str) -> ApiFault:
    return ApiFault(405, "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are {allowed}")
