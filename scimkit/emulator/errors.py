"""Wire errors of the emulator. Each exception knows its own HTTP status and body.

    WireError
     ├── ScimError   SCIM routes: {"schemas":[Error URN], "detail", "status": "<str>", "scimType"?}
     ├── GraphError  Microsoft Graph routes (the Entra family): {"error": {"code", "message", "innerError"}}
     └── ApiError    everything else: {"error_code", "message"}

Handlers raise them; the app turns them into responses. `family_error` builds the right kind for
a route family when the failure is generic (auth, faults, rate limits).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

SCIM_ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"

# Databricks error codes per status, used for generic failures on non-SCIM routes. The SDK maps
# these codes (or, failing that, the status) to the same exception class a real server produces.
API_CODE_FOR_STATUS = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_ALREADY_EXISTS",
    413: "REQUEST_ENTITY_TOO_LARGE",
    414: "REQUEST_URI_TOO_LONG",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


class WireError(Exception):
    """Base of the emulator's wire errors; subclasses carry `status` and `headers`."""

    def body(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class ScimError(WireError):
    status: int
    detail: str
    scim_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.detail)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [SCIM_ERROR_URN], "detail": self.detail, "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


@dataclass
class ApiError(WireError):
    status: int
    error_code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


# Graph error codes per status for generic failures (Graph's throttling and errors docs).
GRAPH_CODE_FOR_STATUS = {
    400: "Request_BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    405: "Request_BadRequest",
    413: "Request_BadRequest",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "serviceNotAvailable",
    504: "gatewayTimeout",
}


@dataclass
class GraphError(WireError):
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def body(self) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        return {"error": {"code": self.code, "message": self.message,
                          "innerError": {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                                         "request-id": request_id, "client-request-id": request_id}}}


def family_error(family: str, status: int, message: str, headers: dict[str, str] | None = None) -> WireError:
    """A generic error in the body style of the route family ("scim", "entra" or "api")."""
    if family == "entra":
        return GraphError(status, GRAPH_CODE_FOR_STATUS.get(status, "UnknownError"), message, headers or {})
    if family == "scim":
        scim_type = {400: "invalidValue", 409: "uniqueness"}.get(status)
        return ScimError(status, message, scim_type, headers or {})
    return ApiError(status, API_CODE_FOR_STATUS.get(status, "UNKNOWN"), message, headers or {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str, code: str = "RESOURCE_DOES_NOT_EXIST") -> ApiError:
    return ApiError(404, code, message)


def permission_denied(message: str) -> ApiError:
    return ApiError(403, "PERMISSION_DENIED", message)
