"""OAuth M2M rules: service principal secrets, client-credentials tokens and who a token acts as.

No HTTP here. Secrets and tokens are stored only as SHA-256 digests: the secret value exists in
the create answer alone, and a token is compared by digest, so neither can be read back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import ApiError, WireError
from ..store import loads

DEFAULT_SECRET_LIFETIME_S = 730 * 24 * 3600  # SDK docs: "a default lifetime of 730 days"
MAX_SECRET_LIFETIME_S = 730 * 24 * 3600
MAX_SECRETS_PER_SP = 5
SCOPES = ("all-apis",)  # the scope the SDK asks for; others are refused rather than half-emulated
KEEP_EXPIRED_S = 24 * 3600  # expired tokens are remembered a day, to answer "expired" not "invalid"


@dataclass
class OAuthError(WireError):
    """An RFC 6749 section 5.2 token-endpoint error: {"error", "error_description"}."""

    status: int
    error: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.description)
        if self.status == 401:
            self.headers.setdefault("WWW-Authenticate", 'Basic realm="oidc"')

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Grant:
    """What a presented access token stands for."""

    sp_id: str
    application_id: str
    display_name: str
    audience: str  # "account" (account token endpoint) or "workspace"
    account_admin: bool
    expired: bool


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _service_principal(db: sqlite3.Connection, sp_id: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM principals WHERE id=? AND kind='ServicePrincipal'", (sp_id,)).fetchone()
    if row is None:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Service principal {sp_id[:40]} does not exist in this account.")
    return row


def parse_lifetime(raw: Any) -> int:
    """`lifetime` as the API takes it: seconds, as "3600s" or a number; 1 s .. 730 days."""
    if raw in (None, ""):
        return DEFAULT_SECRET_LIFETIME_S
    text = str(raw).strip()
    matched = re.fullmatch(r"(\d{1,12})s?", text)
    if not matched or not 1 <= int(matched.group(1)) <= MAX_SECRET_LIFETIME_S:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"lifetime must be a number of seconds such as \"3600s\", "
                                                       f"at most {MAX_SECRET_LIFETIME_S}s; got {text[:40]!r}.")
    return int(matched.group(1))


def _secret_info(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["secret_id"], "secret_hash": row["secret_hash"][:16], "status": "ACTIVE",
            "create_time": _iso(row["created"]), "update_time": _iso(row["created"]),
            "expire_time": _iso(row["expires"])}


def create_secret(db: sqlite3.Connection, sp_id: str, lifetime_s: int, now: float) -> dict[str, Any]:
    """A new secret for a service principal; the value is in this answer only."""
    _service_principal(db, sp_id)
    count = db.execute("SELECT COUNT(*) FROM sp_secrets WHERE sp_id=?", (sp_id,)).fetchone()[0]
    if count >= MAX_SECRETS_PER_SP:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Service principal {sp_id} already has {count} OAuth secrets; "
                                                  f"the limit is {MAX_SECRETS_PER_SP}. Delete one first.")
    value = "dose" + secrets.token_hex(32)
    secret_id = uuid.uuid4().hex
    db.execute("INSERT INTO sp_secrets(secret_id, sp_id, secret_hash, created, expires) VALUES (?,?,?,?,?)",
               (secret_id, sp_id, _digest(value), now, now + lifetime_s))
    row = db.execute("SELECT * FROM sp_secrets WHERE secret_id=?", (secret_id,)).fetchone()
    return {**_secret_info(row), "secret": value}


def list_secrets(db: sqlite3.Connection, sp_id: str) -> list[dict[str, Any]]:
    _service_principal(db, sp_id)
    rows = db.execute("SELECT * FROM sp_secrets WHERE sp_id=? ORDER BY created, secret_id", (sp_id,)).fetchall()
    return [_secret_info(r) for r in rows]


def delete_secret(db: sqlite3.Connection, sp_id: str, secret_id: str) -> None:
    _service_principal(db, sp_id)
    if db.execute("DELETE FROM sp_secrets WHERE sp_id=? AND secret_id=?", (sp_id, secret_id)).rowcount == 0:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST",
                       f"Secret {secret_id[:40]} does not exist for service principal {sp_id}.")


def issue_token(db: sqlite3.Connection, client_id: str, client_secret: str, scope: str, audience: str,
                lifetime_s: int, now: float) -> dict[str, Any]:
    """The client-credentials grant: the client id is the SP's applicationId."""
    if not client_id or not client_secret:
        raise OAuthError(401, "invalid_client", "Client authentication failed: send the client id and secret "
                                                "(HTTP Basic auth or client_id/client_secret form fields).")
    rows = db.execute("SELECT * FROM principals WHERE kind='ServicePrincipal' AND key_lower=?",
                      (client_id.lower(),)).fetchall()
    if not rows:
        raise OAuthError(401, "invalid_client", f"OAuth application with client_id: '{client_id[:64]}' not "
                                                "available in this Databricks account.")
    sp = rows[0]
    digest = _digest(client_secret)
    matched = [s for s in db.execute("SELECT * FROM sp_secrets WHERE sp_id=?", (sp["id"],))
               if hmac.compare_digest(s["secret_hash"], digest)]
    if not matched or matched[0]["expires"] <= now:
        raise OAuthError(401, "invalid_client", "Client authentication failed: the client secret is wrong, "
                                                "expired or revoked.")
    if not loads(sp["doc"]).get("active", True):
        raise OAuthError(401, "invalid_client", f"Service principal {client_id[:64]} is deactivated.")
    requested = scope.split()
    if not requested or any(s not in SCOPES for s in requested):
        raise OAuthError(400, "invalid_scope", f"scope must be 'all-apis' (the emulator serves no other); "
                                               f"got {scope[:64]!r}.")
    token = secrets.token_urlsafe(48)
    db.execute("DELETE FROM oauth_tokens WHERE expires < ?", (now - KEEP_EXPIRED_S,))
    db.execute("INSERT INTO oauth_tokens(token_hash, sp_id, audience, expires) VALUES (?,?,?,?)",
               (_digest(token), sp["id"], audience, now + lifetime_s))
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime_s, "scope": " ".join(requested)}


def grant_for(db: sqlite3.Connection, token: str, now: float | None = None) -> Grant | None:
    """Whom a bearer token acts as, or None if this emulator never issued it (or its SP is gone)."""
    row = db.execute("SELECT * FROM oauth_tokens WHERE token_hash=?", (_digest(token),)).fetchone()
    if row is None:
        return None
    sp = db.execute("SELECT * FROM principals WHERE id=? AND kind='ServicePrincipal'", (row["sp_id"],)).fetchone()
    if sp is None:
        return None
    doc = loads(sp["doc"])
    if not doc.get("active", True):
        return None
    admin = any(isinstance(r, dict) and r.get("value") == "account_admin" for r in doc.get("roles") or [])
    return Grant(sp["id"], sp["key"], doc.get("displayName") or sp["key"], row["audience"], admin,
                 row["expires"] <= (time.time() if now is None else now))


def assigned_to_workspace(db: sqlite3.Connection, principal_id: str, workspace_id: int) -> bool:
    """Whether the principal, or a group it is directly in, holds an assignment on the workspace."""
    row = db.execute("SELECT 1 FROM assignments WHERE workspace_id=? AND (principal_id=? OR principal_id IN "
                     "(SELECT group_id FROM memberships WHERE member_id=?))",
                     (workspace_id, principal_id, principal_id)).fetchone()
    return row is not None
