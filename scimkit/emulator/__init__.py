"""A local emulator of the Databricks account and Unity Catalog APIs, on loopback.

The real `databricks-sdk` clients talk to it over HTTP, unmodified. It never imports the toolkit.

    from scimkit.emulator import start
    with start() as emu:                      # seeded from sample_data/
        a = emu.account_client()
        w = emu.workspace_client()

Layout: one subpackage per API family, routes and rules apart: `scim/` (account SCIM,
workspaces, assignments) | `unity/` (Unity Catalog) | `entra/` (the Entra tenant: token endpoint,
Graph reads, delta, writes) | `oauth/` (OAuth M2M: service principal secrets, OIDC discovery, token
endpoints). Shared beside them: `app` (WSGI: routing,
auth, faults) | `wire` (request context, replies, route records) | `errors` | `store` (SQLite) |
`faults` (latency, rate limits, injected errors) | `seed` | `ledger` (what is served, and why).
"""

from .server import Emulator, create, start
from .wire import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_READER_TOKEN,
    DEFAULT_SCIM_TOKEN,
    DEFAULT_TOKEN,
    DEFAULT_WORKSPACE_ID,
    Limits,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_READER_TOKEN",
    "DEFAULT_SCIM_TOKEN",
    "DEFAULT_TOKEN",
    "DEFAULT_WORKSPACE_ID",
    "Emulator",
    "Limits",
    "create",
    "start",
]
