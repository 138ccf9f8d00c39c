"""The error the emulator answers with, shaped as Salesforce's REST error body."""

from __future__ import annotations

from typing import Any


class ApiFault(Exception):
    """A Salesforce error: HTTP status, errorCode, message and the fields involved."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])

    def body(self) -> list[dict[str, Any]]:
        """The REST error body: a JSON array of one error."""
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]

    def record_error(self) -> dict[str, Any]:
        """The per-record error of sObject Collections and composite results."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def bad_request(error_code: str, message: str, fields: list[str] | None = None) -> ApiFault:
    return ApiFault(400, error_code, message, fields)


def not_found() -> ApiFault:
    return ApiFault(404, "NOT_FOUND", "The requested resource does not exist")
