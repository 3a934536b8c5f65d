"""One error tree. Every message says what was wrong, on which object, and what to do.

    ScimkitError
     ├── ConfigurationError                       no account configured, or configured wrongly
     │    ├── AuthenticationFailed (+ sdk Unauthenticated)  the credentials were refused
     │    ├── AccessDenied (+ sdk PermissionDenied)         the credentials may not read the account
     │    └── AccountNotFound (+ sdk NotFound)              the host serves no such account
     ├── ConnectionFailed                         a host could not be reached within the connect timeout
     │    └── WorkspaceUnreachable                one workspace's URL (the rest of the account still reads)
     ├── InvalidInput                             bad input, refused before any write
     │    ├── UnknownPrincipal (+ sdk NotFound)   no such user, group or service principal
     │    ├── UnknownSecurable (+ sdk NotFound)   no such catalog, schema, table, volume, ...
     │    ├── InapplicablePrivilege               e.g. EXECUTE on a volume
     │    ├── ScriptRejected                      a GRANT/REVOKE script with invalid statements
     │    └── PlanRejected                        a plan with changes that do not validate
     ├── ConflictError (+ sdk ResourceConflict)   an object exists and differs from what was asked
     ├── ManagedByIdentityProvider (+ sdk PermissionDenied)
     │                                            make this change in the identity provider
     ├── CycleError                               nested groups that contain themselves
     └── FindingsAtThreshold                      a scheduled report found findings at or above its threshold

Domain errors also subclass the SDK class a caller already catches (`except NotFound` still works).
`from_sdk_error` turns the SDK's authentication, permission, not-found and connection errors met while
reaching an account into these, with what to configure; the CLI prints the first line of a message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import requests
from databricks.sdk.errors import (
    DatabricksError,
    NotFound,
    PermissionDenied,
    ResourceConflict,
    Unauthenticated,
)


class ScimkitError(Exception):
    """Base of every scimkit error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ScimkitError):
    """No account could be resolved, or the configuration is incomplete."""


class AuthenticationFailed(ConfigurationError, Unauthenticated):
    """The host refused the credentials (HTTP 401)."""

    def __init__(self, message: str) -> None:
        ConfigurationError.__init__(self, message)


class AccessDenied(ConfigurationError, PermissionDenied):
    """The credentials are valid but may not read the account API (HTTP 403)."""

    def __init__(self, message: str) -> None:
        ConfigurationError.__init__(self, message)


class AccountNotFound(ConfigurationError, NotFound):
    """The account API answered 404 for the account itself: a wrong account id or host."""

    def __init__(self, message: str) -> None:
        ConfigurationError.__init__(self, message)


class ConnectionFailed(ScimkitError):
    """A host did not answer within the connect timeout; `url` is the address tried."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class WorkspaceUnreachable(ConnectionFailed):
    """One workspace could not be reached: its id, the URL tried, why, and what to configure."""

    def __init__(self, workspace_id: int, url: str | None, reason: str, how: str = "") -> None:
        self.workspace_id = workspace_id
        self.reason = reason
        tried = f"at {url}" if url else "(no URL known for it)"
        via = f" ({how})" if how else ""
        super().__init__(
            f"workspace {workspace_id} could not be reached {tried}{via}: {reason}. Fix: give its URL with "
            f"`--workspace {workspace_id}=https://...` (or a ~/.databrickscfg profile, "
            f"`--workspace {workspace_id}=PROFILE`; connect(workspaces={{{workspace_id}: ...}})), or allow "
            "network access to it from here (private link, firewall, proxy)", url)


def from_sdk_error(exc: BaseException, host: str, account_id: str) -> ScimkitError | None:
    """The scimkit error for an SDK error met while reaching an account, or None when it is not one
    of the kinds a user fixes by configuration (authentication, permission, not found, connection)."""
    if isinstance(exc, ScimkitError):
        return exc
    if isinstance(exc, Unauthenticated):
        return AuthenticationFailed(
            f"the account host {host} refused the credentials (401 {_first_line(exc)}). Fix: check "
            "DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET, or the --profile's credentials) "
            "for account " + account_id)
    if isinstance(exc, PermissionDenied):
        return AccessDenied(
            f"the credentials may not read account {account_id} at {host} (403 {_first_line(exc)}). Fix: use an "
            "account admin's token or service principal")
    if isinstance(exc, NotFound):
        return AccountNotFound(
            f"account {account_id} was not found at {host} (404 {_first_line(exc)}). Fix: check --account-id "
            "(DATABRICKS_ACCOUNT_ID) and that --host is the accounts host of that account")
    if isinstance(exc, ValueError) and _OAUTH_ERROR.search(str(exc)):  # the SDK's token fetch (oauth.py)
        return AuthenticationFailed(
            f"the OAuth token endpoint of {host} refused the service principal ({_first_line(exc)}). Fix: check "
            "DATABRICKS_CLIENT_ID (the service principal's application id) and DATABRICKS_CLIENT_SECRET (or the "
            f"profile's or secret scope's client_id/client_secret) for account {account_id}; a deleted or "
            "expired secret needs a new one")
    cause = exc
    if isinstance(exc, TimeoutError) and exc.__cause__ is not None:  # the SDK's retries gave up
        cause = exc.__cause__
    if isinstance(cause, (requests.ConnectionError, requests.Timeout, ConnectionError)):
        return ConnectionFailed(
            f"the account host {host} could not be reached ({_first_line(cause)}). Fix: check --host "
            "(DATABRICKS_HOST) and the network from here (proxy, firewall, private link)", host)
    if isinstance(exc, DatabricksError):
        return None
    return None


# RFC 6749 section 5.2 error codes, as the SDK's retrieve_token raises them: "<code>: <description>".
_OAUTH_ERROR = re.compile(r"\b(invalid_client|invalid_grant|unauthorized_client|invalid_scope|"
                          r"unsupported_grant_type|invalid_request): ")


def sdk_message(exc: BaseException) -> str:
    """An exception's text; for the SDK's SCIM errors without the "None" it writes for an absent
    scimType before the detail."""
    text = str(exc)
    if str(getattr(exc, "error_code", "")).startswith("SCIM_") and text.startswith("None "):
        text = text[len("None "):]
    return text


def _first_line(exc: BaseException) -> str:
    text = sdk_message(exc).strip().split(" Config: ")[0].splitlines()  # the SDK appends its configuration
    return text[0][:300].rstrip(".") if text else type(exc).__name__


class InvalidInput(ScimkitError):
    """Input refused before any write. `field` names what was wrong; `fix` says what to do."""

    def __init__(self, message: str, field: str | None = None, value: object = None, fix: str | None = None) -> None:
        text = message if not fix else f"{message} Fix: {fix}"
        super().__init__(text)
        self.field = field
        self.value = value
        self.fix = fix


class UnknownPrincipal(InvalidInput, NotFound):
    def __init__(self, message: str, field: str | None = None, value: object = None, fix: str | None = None) -> None:
        InvalidInput.__init__(self, message, field, value, fix)


class UnknownSecurable(InvalidInput, NotFound):
    def __init__(self, message: str, field: str | None = None, value: object = None, fix: str | None = None) -> None:
        InvalidInput.__init__(self, message, field, value, fix)


class InapplicablePrivilege(InvalidInput):
    """A privilege that the securable type does not take."""


def _clip(text: str, limit: int = 120) -> str:
    """A long statement or reason cut to its start, so one error stays readable."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


class ScriptRejected(InvalidInput):
    """A SQL script refused as a whole; `problems` lists (statement number, statement, reason)."""

    def __init__(self, problems: Sequence[tuple[int, str, str]]) -> None:
        self.problems = list(problems)
        shown = [f"statement {n} `{_clip(text)}`: {_clip(reason, 300)}" for n, text, reason in self.problems[:5]]
        more = len(self.problems) - len(shown)
        summary = "; ".join(shown) + (f"; and {more} more problem(s) (see .problems)" if more > 0 else "")
        super().__init__("The script was refused as a whole; nothing was applied. " + summary,
                         field="script", fix="correct the statements named above and run the script again")


class PlanRejected(InvalidInput):
    """A plan refused as a whole before any write; `problems` lists (step, change, reason, fix)."""

    def __init__(self, problems: Sequence[tuple[int, str, str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"step {n} {change}: {reason} Fix: {fix}" for n, change, reason, fix in self.problems]
        super().__init__(f"The plan was refused as a whole ({len(self.problems)} problem(s)); nothing was applied.\n  "
                         + "\n  ".join(lines), field="plan")


class JournalLocked(ScimkitError):
    """Another apply is writing to this journal now; two applies on one journal would interleave."""

    def __init__(self, journal: str, lock_file: str) -> None:
        self.journal, self.lock_file = journal, lock_file
        super().__init__(f"The journal {journal} is in use by another apply (lock {lock_file} is held); nothing was "
                         "applied. Fix: wait for that apply to finish (a killed one releases the lock), or use "
                         "another journal for another plan")


class ConflictError(ScimkitError, ResourceConflict):
    """The object exists and does not match what was asked; both are named."""

    def __init__(self, message: str) -> None:
        ScimkitError.__init__(self, message)


class ManagedByIdentityProvider(ScimkitError, PermissionDenied):
    """The identity provider owns this group: the change must be made there, not retried here."""

    def __init__(self, message: str) -> None:
        ScimkitError.__init__(self, message)


class CycleError(ScimkitError):
    """Groups that contain themselves through nesting; `cycles` lists each as a list of names."""

    def __init__(self, cycles: Sequence[Sequence[str]]) -> None:
        self.cycles = [list(c) for c in cycles]
        shown = "; ".join(" > ".join(c) for c in self.cycles)
        super().__init__(f"Group nesting contains {len(self.cycles)} cycle(s): {shown}. "
                         "Remove one membership in each cycle.")


class FindingsAtThreshold(ScimkitError):
    """A scheduled report found findings at or above its threshold: the job fails on purpose, after
    the report is written, so the scheduler alerts. `counts` maps each severity to its findings."""

    def __init__(self, threshold: str, counts: dict[str, int], report: object = None) -> None:
        self.threshold = threshold
        self.counts = dict(counts)
        self.report = report
        shown = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        where = f" See {report}." if report is not None else ""
        super().__init__(f"findings at or above {threshold!r} exist ({shown}).{where} "
                         "Fix them, or raise the threshold (fail_on) to let the job pass.")


class ApplyIncomplete(ScimkitError):
    """An applied plan left changes failed or skipped: a job ends non-zero so the scheduler alerts;
    the journal says which, and a re-run finishes only what is left."""

    def __init__(self, plan_id: str, failed: Sequence[str]) -> None:
        self.plan_id = plan_id
        self.failed = list(failed)
        super().__init__(f"plan {plan_id}: {len(self.failed)} change(s) did not apply: "
                         + "; ".join(self.failed[:5]) + (" ..." if len(self.failed) > 5 else "")
                         + ". Fix the cause named in the journal and run again (done changes are not repeated).")
