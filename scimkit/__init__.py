"""scimkit: know and change who can access what in a Databricks account.

    import scimkit
    account = scimkit.connect(emulator=True)          # or profile=..., host=..., in a notebook
    snap = scimkit.snapshot(account)                  # every table of docs/snapshot-schema.md
    scimkit.Access(snap).why("alex@company.com", "SELECT", "TABLE", "datalake.finance.transactions")
    findings = scimkit.evaluate(snap)                 # compliance findings with their fixes
"""

from .access import Access, effective_grants, transitive_memberships, usability
from .catalog import grant, read_catalog, revoke, set_owner
from .compliance import ComplianceConfig, evaluate, rule
from .connect import Account, connect
from .drift import drift
from .errors import (
    ConfigurationError,
    ConflictError,
    CycleError,
    InapplicablePrivilege,
    InvalidInput,
    ManagedByIdentityProvider,
    ScimkitError,
    ScriptRejected,
    UnknownPrincipal,
    UnknownSecurable,
)
from .identities import (
    add_members,
    assign_to_workspace,
    deactivate_user,
    ensure_group,
    ensure_service_principal,
    ensure_user,
    reactivate_user,
    read_identities,
    remove_members,
    unassign_from_workspace,
)
from .matrix import permission_matrix, plot_matrix
from .report import run_report
from .snapshot import Snapshot, diff, snapshot
from .sources.entra import EntraCredentials, GraphReader, credentials_strategy
from .sources.roster import RosterInvalid, read_roster
from .sql_script import apply_script, parse_script

__version__ = "0.1.0"
__all__ = [
    "Access", "Account", "ComplianceConfig", "ConfigurationError", "ConflictError", "CycleError",
    "InapplicablePrivilege", "InvalidInput", "ManagedByIdentityProvider", "ScimkitError", "ScriptRejected",
    "Snapshot", "UnknownPrincipal", "UnknownSecurable", "add_members", "apply_script", "assign_to_workspace",
    "EntraCredentials", "GraphReader", "RosterInvalid", "connect", "credentials_strategy", "deactivate_user",
    "diff", "drift", "effective_grants", "ensure_group", "ensure_service_principal",
    "ensure_user", "evaluate", "grant", "parse_script", "permission_matrix", "plot_matrix", "reactivate_user",
    "read_catalog", "read_identities", "read_roster", "remove_members", "revoke", "rule", "run_report", "set_owner", "snapshot",
    "transitive_memberships", "unassign_from_workspace", "usability",
]
