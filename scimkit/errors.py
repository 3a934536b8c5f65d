"""One error tree. Every message says what was wrong, on which object, and what to do.

    ScimkitError
     ├── ConfigurationError                       no account configured, or configured wrongly
     ├── InvalidInput                             bad input, refused before any write
     │    ├── UnknownPrincipal (+ sdk NotFound)   no such user, group or service principal
     │    ├── UnknownSecurable (+ sdk NotFound)   no such catalog, schema, table, volume, ...
     │    ├── InapplicablePrivilege               e.g. EXECUTE on a volume
     │    └── ScriptRejected                      a GRANT/REVOKE script with invalid statements
     ├── ConflictError (+ sdk ResourceConflict)   an object exists and differs from what was asked
     ├── ManagedByIdentityProvider (+ sdk PermissionDenied)
     │                                            make this change in the identity provider
     ├── CycleError                               nested groups that contain themselves
     └── FindingsAtThreshold                      a scheduled report found findings at or above its threshold

Domain errors also subclass the SDK class a caller already catches (`except NotFound` still works).
"""

from __future__ import annotations

from collections.abc import Sequence

from databricks.sdk.errors import NotFound, PermissionDenied, ResourceConflict


class ScimkitError(Exception):
    """Base of every scimkit error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ScimkitError):
    """No account could be resolved, or the configuration is incomplete."""


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


class ScriptRejected(InvalidInput):
    """A SQL script refused as a whole; `problems` lists (statement number, statement, reason)."""

    def __init__(self, problems: Sequence[tuple[int, str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"statement {n} `{text}`: {reason}" for n, text, reason in self.problems]
        super().__init__("The script was refused as a whole; nothing was applied. " + "; ".join(lines),
                         field="script", fix="correct the statements named above and run the script again")


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
