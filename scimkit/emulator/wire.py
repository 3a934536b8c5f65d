"""What every route module shares: the route record, the request context and the reply.

A route module (`scim.routes`, `unity.routes`) exports `ROUTES: list[Route]`; the app builds
its URL map and the ledger from those lists, so what is served and what is documented agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from . import bounds
from .errors import ApiError, ScimError
from .store import Store

# Fixed, documented, not secret: this is a local emulator.
DEFAULT_ACCOUNT_ID = "6f1c2a9e-3b7d-4c52-9a1e-5c1a1c0de001"
DEFAULT_TOKEN = "dapi-scimkit-admin"
DEFAULT_READER_TOKEN = "dapi-scimkit-reader"
DEFAULT_SCIM_TOKEN = "dsapi-scimkit-provisioning"
DEFAULT_WORKSPACE_ID = 7_000_000_000_000_001
DEFAULT_METASTORE_ID = "a1b2c3d4-0000-4000-8000-00000000e7a1"
# The built-in principals behind the admin and reader tokens (service principals, so that an
# `--empty` account has no people).
ADMIN_SP_ID = "9000000000000001"
ADMIN_SP_APPLICATION_ID = "5c1a1c0d-ad31-4000-8000-000000000001"
READER_SP_ID = "9000000000000002"
READER_SP_APPLICATION_ID = "5c1a1c0d-4ead-4000-8000-000000000002"


@dataclass
class Limits:
    """Documented Databricks limits (`databricks-api.md` section 2.1), configurable for tests."""

    max_groups: int = 5000
    max_users_and_sps: int = 10000
    max_direct_memberships: int = 1500  # direct parent groups per principal
    max_nesting_depth: int = 10  # counted in edges
    max_members_per_patch: int = 1000  # our decision (Databricks silent): clients must batch
    scim_page_size: int = 100
    scim_filter_nodes: int = 200
    uc_page_size: int = 1000
    grants_page_size: int = 1000


@dataclass
class EmulatorConfig:
    account_id: str = DEFAULT_ACCOUNT_ID
    token: str = DEFAULT_TOKEN
    reader_token: str = DEFAULT_READER_TOKEN
    scim_token: str = DEFAULT_SCIM_TOKEN
    limits: Limits = field(default_factory=Limits)
    # Groups provisioned by the identity provider refuse member/name changes from admin tokens (403).
    idp_groups_immutable: bool = True
    # Lifetime of OAuth access tokens from the token endpoints (Databricks: 3600 s).
    oauth_token_lifetime_s: int = 3600


@dataclass(frozen=True)
class Caller:
    """Who sent the request. `role` is admin, reader, scim (the provisioning token) or member (an
    OAuth token of a service principal that is not an account admin)."""

    role: str
    principal_id: str
    principal_name: str  # the Unity Catalog principal name (an SP's applicationId)
    display_name: str

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "scim")


@dataclass
class Ctx:
    """One request as a handler sees it."""

    request: Request
    store: Store
    config: EmulatorConfig
    caller: Caller
    family: str  # "scim" or "api": which error body style applies
    workspace_id: int
    path_prefix: str = ""  # e.g. "/api/2.1/accounts/{A}/scim/v2" for SCIM routes
    app: Any = None  # the EmulatorApp, for the meta routes (stats, reset, faults)

    @property
    def args(self) -> MultiDict[str, str]:
        return self.request.args

    def json(self) -> Any:
        raw = self.request.get_data(cache=True)
        if not raw:
            return {}
        if self.family == "scim":
            invalid: ApiError | ScimError = ScimError(400, "Request body is not valid JSON.", "invalidSyntax")
        else:
            invalid = ApiError(400, "MALFORMED_REQUEST", "Request body is not valid JSON.")
        return bounds.loads_body(raw, self.family, invalid)

    @property
    def via_scim_token(self) -> bool:
        return self.caller.role == "scim"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Route:
    """One endpoint. `rate_class` is its class in `databricks-api.md` section 7.1 (or "meta")."""

    methods: tuple[str, ...]
    path: str  # werkzeug rule, e.g. "/api/2.0/accounts/<account_id>/scim/v2/Users/<id>"
    handler: Handler
    rate_class: str
    family: str  # "scim" | "api" | "meta"
    summary: str
    sdk: str = ""  # the SDK call that reaches it, for the ledger
    writes: bool = False
    auth: bool = True
    notes: str = ""


@dataclass(frozen=True)
class Decision:
    """A choice taken where Databricks is silent; listed in the ledger."""

    topic: str
    decision: str
    source: str
