"""Compliance rules over a `Snapshot`: one `findings` DataFrame, one row per problem, each with the
SQL or identity change that fixes it.

    findings = evaluate(snap)                                   # every enabled rule, default params
    findings = evaluate(snap, "compliance.json")                # rules configured from one file
    findings = evaluate(snap, {"broad_group_privileges.threshold": 20}, previous=last_week)
    summary(findings);  exceeds(findings, "high")              # counts; True -> non-zero exit code
    save_findings(findings, "out/snapshots")                    # ROOT/findings/snapshot_time=.../

A rule is a small function `(snapshot, params, previous) -> DataFrame` with the columns
`principal, principal_type, securable_type, securable, detail, remediation` (plus an optional
`key` that tells two findings of the same rule on the same principal and securable apart),
registered with the `rule` decorator. Your own rule runs with the built-in ones:

    import pandas as pd
    from scimkit.compliance import rule, evaluate

    @rule(id="outside_domain", severity="high", title="Users outside the company domain",
          rationale="Guests should reach data through a reviewed group, not as account users.",
          remediation="Deactivate the user or move them to the guest process.",
          params={"domain": "company.com"}, depends=(), reads=("users",))
    def outside_domain(snapshot, params, previous):
        users = snapshot.users[snapshot.users["active"]]
        guests = users[~users["user_name"].str.lower().str.endswith("@" + params["domain"])]
        return pd.DataFrame({"principal": guests["user_name"], "principal_type": "USER",
                             "detail": "active user outside " + params["domain"],
                             "remediation": "Deactivate " + guests["user_name"] + " if they no longer need access"})

    evaluate(snap, {"outside_domain.domain": "example.org"})

`depends` and `reads` name the facts of `scimkit.gaps` a rule relies on, so that on an incomplete
snapshot it withholds what it cannot know instead of reporting a gap as a problem (see `evaluate`).

Configuration (`ComplianceConfig`) comes from a JSON file, a TOML file (Python 3.11+, or `tomli`
installed), a dict, or flat dotted parameters (`"rule.param": value`, handy for notebook
widgets); see `docs/compliance-rules.md`. Unknown rules or parameters raise `InvalidInput`.

Deactivated users and service principals are reported once, by `deactivated_principal_access`;
the rules about direct grants, individual owners, service-principal writes and unusable grants skip
them. `granted_not_usable` calls `scimkit.access.usability`; `access_widened` calls `scimkit.history.diff`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import derived
from .errors import InvalidInput
from .gaps import FACTS, Gaps, Scope
from .schema import (
    ACCOUNT_USERS,
    ACCOUNT_USERS_NAME,
    FINDINGS,
    GROUP,
    SCHEMA_VERSION,
    SERVICE_PRINCIPAL,
    UNKNOWN,
    USER,
)

if TYPE_CHECKING:
    from .snapshot import Snapshot

__all__ = [
    "COULD_NOT_EVALUATE",
    "FINDINGS_TABLE",
    "RULES",
    "SEVERITIES",
    "ComplianceConfig",
    "Rule",
    "RuleSettings",
    "evaluate",
    "exceeds",
    "findings_frame",
    "grant_sql",
    "not_read",
    "owner_sql",
    "quote_principal",
    "rule",
    "save_findings",
    "sql_privilege",
    "summary",
    "unregister",
    "withheld",
]

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

FINDING_COLUMNS = ("principal", "principal_type", "securable_type", "securable", "detail", "remediation")

FINDINGS_TABLE = FINDINGS  # registered in scimkit.schema

# Privileges that let a principal change data or grants.
WRITE_PRIVILEGES = (
    "ALL_PRIVILEGES",
    "MANAGE",
    "MODIFY",
    "WRITE_VOLUME",
    "WRITE_FILES",
    "CREATE_SCHEMA",
    "CREATE_TABLE",
    "CREATE_VOLUME",
    "CREATE_FUNCTION",
    "CREATE_MODEL",
    "CREATE_MATERIALIZED_VIEW",
)
# ALL_PRIVILEGES does not include these (databricks-api.md 4.2).
_OUTSIDE_ALL_PRIVILEGES = {"MANAGE", "EXTERNAL_USE_SCHEMA", "EXTERNAL_USE_LOCATION"}
_IN_CATALOG = ("CATALOG", "SCHEMA", "TABLE", "VOLUME", "FUNCTION")
_IN_SCHEMA = ("TABLE", "VOLUME", "FUNCTION")
_PLACEHOLDER_GROUP = "<group>"


# -- rules and the registry ------------------------------------------------------------------------

RuleFunction = Callable[["Snapshot", Mapping[str, Any], "Snapshot | None"], pd.DataFrame]


@dataclass(frozen=True)
class Rule:
    """A registered rule. `params` are its defaults; `remediation` says in words how its findings are fixed."""

    id: str
    title: str
    severity: str
    rationale: str
    function: RuleFunction = field(compare=False, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    remediation: str = ""
    depends: tuple[str, ...] | None = None
    reads: tuple[str, ...] = ()
    compares: bool = False

    def __call__(
        self, snapshot: Snapshot, params: Mapping[str, Any] | None = None, previous: Snapshot | None = None
    ) -> pd.DataFrame:
        """Run the rule alone (defaults overlaid with `params`) and return its raw findings rows."""
        merged = dict(self.params)
        merged.update(_checked_params(self, dict(params or {})))
        return self.function(snapshot, MappingProxyType(merged), previous)


RULES: dict[str, Rule] = {}
_RULE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _check_severity(value: Any, field_name: str) -> str:
    if value not in SEVERITIES:
        raise InvalidInput(
            f"Unknown severity {value!r} in {field_name}.",
            field=field_name,
            value=value,
            fix="use one of " + ", ".join(SEVERITIES),
        )
    return str(value)


def rule(
    id: str,
    severity: str,
    title: str,
    rationale: str,
    remediation: str = "",
    params: Mapping[str, Any] | None = None,
    replace: bool = False,
    depends: Iterable[str] | None = None,
    reads: Iterable[str] = (),
    compares: bool = False,
) -> Callable[[RuleFunction], RuleFunction]:
    """Register `function(snapshot, params, previous) -> DataFrame` as a rule (see the module docstring).

    `depends`: the facts (`scimkit.gaps.FACTS`, `fact@key-prefix` for some of its findings) a finding's
    conclusion needs read completely: where the snapshot could not read them, the finding is withheld.
    `reads`: facts it finds problems in, where a gap can only hide findings. A gap in either is reported
    as one `could_not_evaluate` finding. A rule that declares no `depends` is withheld whole on an
    incomplete snapshot. `compares`: the rule compares with `previous` (its gaps count too).

    Re-running the same definition (a notebook cell run twice) replaces it; another function under an
    existing id is refused unless `replace=True`."""
    if not _RULE_ID.match(id or ""):
        raise InvalidInput(
            f"Rule id {id!r} is not valid.",
            field="id",
            value=id,
            fix="start with a letter; use letters, digits, '_' and '-' (no dots)",
        )
    _check_severity(severity, f"rule {id} severity")
    reserved = {"enabled", "severity"} & set(params or {})
    if reserved:
        raise InvalidInput(
            f"Rule {id} names a parameter {sorted(reserved)[0]!r}, which is reserved.",
            field=f"{id}.params",
            fix="rename the parameter",
        )
    depends = None if depends is None else tuple(_checked_facts(id, "depends", depends))
    reads = tuple(_checked_facts(id, "reads", reads))

    def register(function: RuleFunction) -> RuleFunction:
        existing = RULES.get(id)
        same = existing is not None and (existing.function.__module__, existing.function.__qualname__) == (
            function.__module__,
            function.__qualname__,
        )
        if existing is not None and not (same or replace):
            raise InvalidInput(
                f"A rule with id {id!r} is already registered ({existing.function.__qualname__}).",
                field="id",
                value=id,
                fix="pick another id, or pass replace=True to override it",
            )
        RULES[id] = Rule(
            id=id,
            title=title,
            severity=severity,
            rationale=rationale,
            function=function,
            params=MappingProxyType(dict(params or {})),
            remediation=remediation,
            depends=depends,
            reads=reads,
            compares=bool(compares),
        )
        return function

    return register


def _checked_facts(rule_id: str, name: str, facts: Iterable[str]) -> list[str]:
    if isinstance(facts, str):
        facts = (facts,)
    out = []
    for spec in facts:
        fact = str(spec).split("@", 1)[0]
        if fact not in FACTS:
            raise InvalidInput(
                f"Rule {rule_id} {name} {spec!r}, which is no fact a snapshot reads.",
                field=f"{rule_id}.{name}",
                value=spec,
                fix="use one of " + ", ".join(FACTS) + " (optionally fact@key-prefix)",
            )
        out.append(str(spec))
    return out


def unregister(rule_id: str) -> None:
    """Remove a rule from the registry (custom rules in tests and notebooks)."""
    RULES.pop(rule_id, None)


# -- configuration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSettings:
    """What the configuration says about one rule: None means "the rule's default"."""

    enabled: bool | None = None
    severity: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


def _coerce_param(value: Any, default: Any, where: str) -> Any:
    """`value` in the type of the default; strings (notebook widgets, environment) are converted."""

    def bad(expected: str) -> InvalidInput:
        return InvalidInput(
            f"{where} must be {expected}, not {value!r}.",
            field=where,
            value=value,
            fix=f"give {expected} (the default is {default!r})",
        )

    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        raise bad("true or false")
    if isinstance(default, (int, float)):
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, (int, float)):
            return value
        try:
            return type(default)(str(value).strip())
        except ValueError:
            raise bad("a number") from None
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, (list, tuple, set, frozenset)):
            return tuple(value)
        raise bad("a list")
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("text")
        if where.endswith("pattern"):
            try:
                re.compile(value)
            except re.error as exc:
                raise InvalidInput(
                    f"{where} is not a valid regular expression: {exc}.",
                    field=where,
                    value=value,
                    fix="give a Python regular expression, e.g. (^|_)prod($|_)",
                ) from None
        return value
    return value


def _checked_params(rule_: Rule, params: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in params.items():
        if name not in rule_.params:
            known = ", ".join(sorted(rule_.params)) or "none"
            raise InvalidInput(
                f"Rule {rule_.id} has no parameter {name!r}.",
                field=f"rules.{rule_.id}.{name}",
                value=value,
                fix=f"use one of its parameters ({known}), 'enabled' or 'severity'",
            )
        out[name] = _coerce_param(value, rule_.params[name], f"rules.{rule_.id}.{name}")
    return out


def _unknown_rule(rule_id: str) -> InvalidInput:
    return InvalidInput(
        f"No rule {rule_id!r} is registered.",
        field=f"rules.{rule_id}",
        value=rule_id,
        fix="use one of " + ", ".join(RULES) + " (register custom rules before loading the config)",
    )


@dataclass(frozen=True)
class ComplianceConfig:
    """Per-rule `enabled`, `severity` and parameters. Build it with `load` from any of:

    - None: every rule with its defaults;
    - a path to a `.json` or `.toml` file: `{"rules": {"<rule id>": {"enabled": false, "severity": "high",
      "<param>": value}}}` (TOML: `[rules.<rule id>]` tables with the same keys);
    - a dict in that shape, or flat `{"<rule id>.<field>": value}` (both may be mixed);
    - a `ComplianceConfig`.

    `merged(other)` overlays another source (parameters over a file). Everything is checked against
    the registered rules when built: an unknown rule, parameter or severity raises `InvalidInput`."""

    rules: Mapping[str, RuleSettings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule_id, settings in self.rules.items():
            if rule_id not in RULES:
                raise _unknown_rule(rule_id)
            if settings.severity is not None:
                _check_severity(settings.severity, f"rules.{rule_id}.severity")
            if settings.enabled is not None and not isinstance(settings.enabled, bool):
                raise InvalidInput(
                    f"rules.{rule_id}.enabled must be true or false, not {settings.enabled!r}.",
                    field=f"rules.{rule_id}.enabled",
                    value=settings.enabled,
                    fix="give true or false",
                )
            _checked_params(RULES[rule_id], settings.params)

    @classmethod
    def load(cls, source: Any = None) -> ComplianceConfig:
        if source is None:
            return cls()
        if isinstance(source, ComplianceConfig):
            return source
        if isinstance(source, (str, Path)):
            return cls.from_file(source)
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        raise InvalidInput(
            f"Cannot read a compliance configuration from {type(source).__name__}.",
            field="config",
            fix="give a path to a .json/.toml file, a dict, or a ComplianceConfig",
        )

    @classmethod
    def from_file(cls, path: str | Path) -> ComplianceConfig:
        path = Path(path)
        if not path.is_file():
            raise InvalidInput(
                f"Compliance configuration file {path} does not exist.",
                field="config",
                value=str(path),
                fix="check the path",
            )
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            try:
                import tomllib  # Python 3.11+
            except ImportError:  # pragma: no cover - Python 3.10
                try:
                    import tomli as tomllib  # type: ignore[no-redef]
                except ImportError:
                    raise InvalidInput(
                        f"Reading {path} needs Python 3.11+ or the tomli package.",
                        field="config",
                        value=str(path),
                        fix="pip install tomli, or write the file as JSON",
                    ) from None
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise InvalidInput(
                    f"{path} is not valid TOML: {exc}.",
                    field="config",
                    value=str(path),
                    fix="correct the file",
                ) from None
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    f"{path} is not valid JSON: {exc}.",
                    field="config",
                    value=str(path),
                    fix="correct the file (or name it .toml for TOML)",
                ) from None
        if not isinstance(data, Mapping):
            raise InvalidInput(
                f"{path} must hold an object with a 'rules' key.",
                field="config",
                value=str(path),
                fix='write {"rules": {"<rule id>": {...}}}',
            )
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComplianceConfig:
        raw: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            if key == "rules":
                if not isinstance(value, Mapping):
                    raise InvalidInput(
                        "'rules' must map rule ids to their settings.",
                        field="rules",
                        fix='write {"rules": {"<rule id>": {"enabled": false}}}',
                    )
                for rule_id, settings in value.items():
                    if not isinstance(settings, Mapping):
                        raise InvalidInput(
                            f"rules.{rule_id} must be an object of settings, not {settings!r}.",
                            field=f"rules.{rule_id}",
                            value=settings,
                            fix='write {"enabled": ..., "severity": ..., "<param>": ...}',
                        )
                    raw.setdefault(rule_id, {}).update(settings)
            elif "." in key:
                rule_id, name = key.split(".", 1)
                raw.setdefault(rule_id, {})[name] = value
            else:
                raise InvalidInput(
                    f"Unknown configuration key {key!r}.",
                    field=key,
                    value=value,
                    fix="use 'rules' or '<rule id>.<setting>' keys",
                )
        rules = {}
        for rule_id, settings in raw.items():
            params = {k: v for k, v in settings.items() if k not in ("enabled", "severity")}
            enabled = settings.get("enabled")
            if isinstance(enabled, str):
                enabled = _coerce_param(enabled, True, f"rules.{rule_id}.enabled")
            rules[rule_id] = RuleSettings(enabled=enabled, severity=settings.get("severity"), params=params)
        return cls(rules=rules)

    def merged(self, other: Any) -> ComplianceConfig:
        """This configuration with `other` (anything `load` takes) laid over it, setting by setting."""
        over = ComplianceConfig.load(other)
        rules = dict(self.rules)
        for rule_id, settings in over.rules.items():
            base = rules.get(rule_id, RuleSettings())
            rules[rule_id] = RuleSettings(
                enabled=settings.enabled if settings.enabled is not None else base.enabled,
                severity=settings.severity or base.severity,
                params={**base.params, **settings.params},
            )
        return ComplianceConfig(rules=rules)

    def resolve(self, rule_: Rule) -> tuple[bool, str, Mapping[str, Any]]:
        """(enabled, severity, params) for a rule: its defaults with this configuration laid over."""
        settings = self.rules.get(rule_.id, RuleSettings())
        params = {**rule_.params, **_checked_params(rule_, settings.params)}
        enabled = True if settings.enabled is None else settings.enabled
        return enabled, settings.severity or rule_.severity, MappingProxyType(params)


# -- evaluation --------------------------------------------------------------------------------------


def findings_frame(rows: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """Raw findings rows (dicts with some of FINDING_COLUMNS and `key`) -> the frame a rule returns."""
    columns = [*FINDING_COLUMNS, "key"]
    rows = list(rows)
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns).astype(object)


def _text(series: pd.Series) -> pd.Series:
    """Strings as object with None for missing (the schema's representation)."""
    series = series.astype(object)
    return series.where(series.notna(), None)


def _conform_rule_output(rule_: Rule, severity: str, found: Any) -> pd.DataFrame:
    if not isinstance(found, pd.DataFrame):
        raise InvalidInput(
            f"Rule {rule_.id} returned {type(found).__name__}, not a DataFrame.",
            field=f"rules.{rule_.id}",
            fix="return a DataFrame (see scimkit.compliance.findings_frame)",
        )
    if "detail" not in found.columns:
        raise InvalidInput(
            f"Rule {rule_.id} returned no 'detail' column.",
            field=f"rules.{rule_.id}",
            fix="return the columns " + ", ".join(FINDING_COLUMNS),
        )
    found = found.reset_index(drop=True)
    n = len(found)
    out = pd.DataFrame(
        {
            c: _text(found[c]) if c in found.columns else pd.Series([None] * n, dtype=object)
            for c in (*FINDING_COLUMNS, "key")
        }
    )
    if "remediation" not in found.columns:
        out["remediation"] = rule_.remediation
    out["remediation"] = out["remediation"].fillna(rule_.remediation)
    out.insert(0, "title", rule_.title)
    out.insert(0, "severity", severity)
    out.insert(0, "rule", rule_.id)
    return out


def _finding_ids(frame: pd.DataFrame) -> list[str]:
    def digest(*parts: Any) -> str:
        text = "\x1f".join("" if p is None else str(p) for p in parts)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    cols = ["rule", "principal", "securable_type", "securable", "key"]
    ids = [digest(*values) for values in frame[cols].itertuples(index=False, name=None)]
    clash = pd.Series(ids).duplicated(keep=False).to_numpy()
    if clash.any():  # a rule without a key that returns two findings on one principal and securable
        details = frame["detail"].tolist()
        ids = [digest(i, details[n]) if clash[n] else i for n, i in enumerate(ids)]
    return ids


def _findings_table(frame: pd.DataFrame, snapshot_time: Any, account_id: str) -> pd.DataFrame:
    """Common columns first, then FINDINGS_TABLE's, with the schema's dtypes (strings as object)."""
    n = len(frame)
    data: dict[str, Any] = {
        "snapshot_time": pd.Series([pd.Timestamp(snapshot_time)] * n, dtype="datetime64[ns, UTC]")
        if n
        else pd.Series([], dtype="datetime64[ns, UTC]"),
        "account_id": pd.Series([account_id] * n, dtype=object),
        "schema_version": pd.Series([SCHEMA_VERSION] * n, dtype="int64"),
    }
    for column in FINDINGS_TABLE.columns:
        data[column.name] = (
            _text(frame[column.name]) if column.name in frame.columns else pd.Series([None] * n, dtype=object)
        )
    out = pd.DataFrame(data)
    if n:
        out["snapshot_time"] = pd.to_datetime(out["snapshot_time"], utc=True).astype("datetime64[ns, UTC]")
    assert list(out.columns) == FINDINGS_TABLE.column_names
    return out


COULD_NOT_EVALUATE = "could_not_evaluate"


def _withhold(rule_: Rule, severity: str, found: pd.DataFrame, gaps: Gaps) -> list[pd.DataFrame]:
    """A rule's findings without those whose evidence was not read, and one `could_not_evaluate` row
    when any fact it depends on or reads has a gap (its absent findings are unknown there too)."""
    if gaps.complete:
        return [found]
    partly: list[str] = []  # `fact@prefix` gaps everywhere: only the rule's `prefix` findings are affected
    if rule_.depends is None:  # undeclared: nothing it concluded can be trusted
        reads = tuple(dict.fromkeys(r for s in gaps.scopes.values() for r in s.reads)) or tuple(gaps.lines())
        scope, hit = Scope(everything=True, reads=reads), pd.Series(True, index=found.index)
    else:
        scope, hit = Scope(), pd.Series(False, index=found.index)
        key = found["key"].astype(object).fillna("").astype(str)
        for spec in rule_.depends:
            fact, _, prefix = spec.partition("@")
            part = gaps.scope(fact)
            if part.empty:
                continue
            mask = part.covers(found["principal"], found["securable_type"], found["securable"])
            if prefix:
                mask &= key.str.startswith(prefix)
                if part.everything:
                    partly.append(f"its {prefix} findings")
                    part = Scope(reads=part.reads)
            hit |= mask
            scope = scope.union(part)
        for spec in rule_.reads:
            scope = scope.union(gaps.scope(spec.partition("@")[0]))
    if scope.empty and not partly:
        return [found]
    objects = ("the whole account" if scope.everything
               else _first_items(list(dict.fromkeys(partly)) + scope.objects(gaps.spelling), 5))
    note = findings_frame([dict(
        detail=f"could not evaluate {rule_.id} for {objects}: {_first_items(scope.reads, 3, '; ')}",
        remediation="No fix is suggested where the evidence was not read: rerun the snapshot once these "
        "reads succeed (see the completeness table).",
        key=rule_.id,
    )])
    note = note.assign(rule=COULD_NOT_EVALUATE, severity=severity, title=f"Could not evaluate: {rule_.title}",
                       withheld_rule=rule_.id)
    return [found[~hit.to_numpy()], note]


def _first_items(items: Iterable[str], n: int, sep: str = ", ") -> str:
    items = list(items)
    shown = sep.join(items[:n])
    return shown if len(items) <= n else f"{shown}{sep}and {len(items) - n} more"


def withheld(findings: pd.DataFrame) -> list[str]:
    """In words, the conclusions withheld because the snapshot could not read their evidence: one
    sentence per `could_not_evaluate` finding (empty for a complete snapshot)."""
    if findings is None or findings.empty:
        return []
    rows = findings[findings["rule"] == COULD_NOT_EVALUATE]
    return [f"{sev}: {detail}" for sev, detail in zip(rows["severity"], rows["detail"], strict=True)]


def not_read(snapshot: Any) -> list[str]:
    """In words, what the snapshot could not read (one line per kind of failed read)."""
    return Gaps.of(snapshot).lines()


def evaluate(snapshot: Snapshot, config: Any = None, previous: Snapshot | None = None) -> pd.DataFrame:
    """Run every enabled rule on `snapshot` (and `previous`, for the rules that compare two snapshots).

    `config`: anything `ComplianceConfig.load` takes. Returns the findings table (`FINDINGS_TABLE`),
    ordered by severity, rule, principal and securable.

    On an incomplete snapshot (rows in `completeness`) a finding whose evidence was not read is
    withheld, and each rule with a gap in what it reads adds one `could_not_evaluate` finding at its
    severity (`withheld_rule` names it) saying for which objects and which failed reads: a gap is
    unknown, never a problem to fix. Findings on what was read are those of a complete reading."""
    cfg = ComplianceConfig.load(config)
    gaps = Gaps.of(snapshot)
    compared = gaps.union(Gaps.of(previous)) if previous is not None else gaps
    frames = []
    for rule_ in list(RULES.values()):
        enabled, severity, params = cfg.resolve(rule_)
        if not enabled:
            continue
        found = _conform_rule_output(rule_, severity, rule_.function(snapshot, params, previous))
        if rule_.compares and previous is None:  # silent without a previous snapshot: nothing withheld
            frames.append(found)
        else:
            frames += _withhold(rule_, severity, found, compared if rule_.compares else gaps)
    frames = [f for f in frames if len(f)]
    if frames:
        findings = pd.concat(frames, ignore_index=True)
    else:
        findings = pd.DataFrame(
            {c: pd.Series([], dtype=object) for c in ("rule", "severity", "title", *FINDING_COLUMNS, "key")}
        )
    findings["finding_id"] = _finding_ids(findings) if len(findings) else pd.Series([], dtype=object)
    order = findings.assign(
        _rank=findings["severity"].map(SEVERITY_RANK).astype("int64"),
        **{
            f"_{c}": findings[c].fillna("").astype(str).str.lower()
            for c in ("rule", "principal", "securable", "securable_type", "key", "detail")
        },
    )
    order = order.sort_values(
        ["_rank", "_rule", "_principal", "_securable", "_securable_type", "_key", "_detail"], kind="stable"
    )
    return _findings_table(order.reset_index(drop=True), snapshot.snapshot_time, snapshot.account_id)


def summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings counted per severity and rule (columns severity, rule, title, findings), most severe first."""
    columns = ["severity", "rule", "title", "findings"]
    if findings.empty:
        return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "findings" else object) for c in columns})
    counts = findings.groupby(["severity", "rule", "title"]).size().reset_index(name="findings")
    counts["_rank"] = counts["severity"].map(SEVERITY_RANK)
    counts = counts.sort_values(["_rank", "rule"], kind="stable").drop(columns="_rank")
    return counts[columns].astype({"findings": "int64"}).reset_index(drop=True)


def exceeds(findings: pd.DataFrame, severity: str = "high") -> bool:
    """True when any finding is at `severity` or worse (for a job's exit code)."""
    limit = SEVERITY_RANK[_check_severity(severity, "severity")]
    return bool((findings["severity"].map(SEVERITY_RANK) <= limit).any()) if len(findings) else False


def save_findings(findings: pd.DataFrame, root: Any, snapshot_time: Any = None) -> Path:
    """Store findings under `ROOT/findings/snapshot_time=.../` (a folder or a `scimkit.history` backend),
    beside the snapshot they came from, so trends build up."""
    from . import history

    if snapshot_time is None and findings.empty:
        raise InvalidInput(
            "There are no findings to take the snapshot time from.",
            field="snapshot_time",
            fix="pass snapshot_time= (the snapshot's time)",
        )
    return history.save_tables({FINDINGS_TABLE.name: findings}, root, snapshot_time)


# -- SQL and wording helpers ---------------------------------------------------------------------------

_SQL_OBJECT = {"EXTERNAL_LOCATION": "EXTERNAL LOCATION", "STORAGE_CREDENTIAL": "STORAGE CREDENTIAL"}
_SIMPLE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_principal(name: str) -> str:
    """`name` in backticks, as GRANT ... TO expects."""
    return "`" + str(name).replace("`", "``") + "`"


def sql_privilege(privilege: str) -> str:
    """USE_CATALOG -> USE CATALOG."""
    return str(privilege).replace("_", " ")


def _sql_identifier(part: str) -> str:
    return part if _SIMPLE_IDENTIFIER.match(part) else "`" + part.replace("`", "``") + "`"


def sql_securable(securable_type: str, full_name: str) -> str:
    """The `ON ...` object of a GRANT: `TABLE a.b.c`, `EXTERNAL LOCATION \\`raw-landing\\``, `METASTORE`."""
    if isinstance(securable_type, str) and isinstance(full_name, str):
        return _sql_securable(securable_type, full_name)  # rules ask for the same securables many times
    return _sql_securable.__wrapped__(securable_type, full_name)


@functools.lru_cache(maxsize=65536)
def _sql_securable(securable_type: str, full_name: str) -> str:
    if securable_type == "METASTORE":
        return "METASTORE"
    parts = full_name.split(".") if securable_type in _IN_CATALOG else [full_name]
    return f"{_SQL_OBJECT.get(securable_type, securable_type)} {'.'.join(_sql_identifier(p) for p in parts)}"


def grant_sql(
    verb: str, privileges: Iterable[str], securable_type: str, full_name: str, principal: str
) -> str:
    """`GRANT SELECT, MODIFY ON TABLE a.b.c TO \\`p\\`` (verb GRANT) or `REVOKE ... FROM ...` (verb REVOKE)."""
    privs = ", ".join(sql_privilege(p) for p in privileges)
    direction = "TO" if verb == "GRANT" else "FROM"
    return f"{verb} {privs} ON {sql_securable(securable_type, full_name)} {direction} {quote_principal(principal)}"


def owner_sql(securable_type: str, full_name: str, new_owner: str, kind: str | None = None) -> str:
    """`ALTER TABLE a.b.c OWNER TO \\`group\\``; the metastore is changed outside SQL."""
    if securable_type == "METASTORE":
        return (
            f"Make {quote_principal(new_owner)} the metastore admin: account console > Catalog > metastore "
            f"{full_name} > Metastore admin (or `databricks metastores update {full_name} --owner {new_owner}`)"
        )
    obj = sql_securable(securable_type, full_name)
    if securable_type == "TABLE" and isinstance(kind, str) and kind.upper() in ("VIEW", "METRIC_VIEW"):
        obj = "VIEW" + obj[len("TABLE") :]
    return f"ALTER {obj} OWNER TO {quote_principal(new_owner)}"


def _names(values: Iterable[str]) -> str:
    return ", ".join(str(v) for v in values)


def _lower(series: pd.Series) -> pd.Series:
    """Lower-case text ("" for missing), computed once per distinct value (large tables repeat names).
    A categorical column is lowered through its categories: no hashing of its rows."""
    codes, uniques = _codes(series)
    lowered = np.array([str(u).lower() for u in uniques] + [""], dtype=object)
    return pd.Series(lowered[codes], index=series.index, dtype=object)


def _codes(series: pd.Series) -> tuple[np.ndarray, Any]:
    """(codes, values): a categorical's own codes and categories, else `pd.factorize`; -1 for missing."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return np.asarray(series.cat.codes), series.cat.categories
    return pd.factorize(series)


def _lower_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, lower-case uniques) of `_lower(series)`: equal lower-case names share one code (missing
    is "", as `_lower` has it), so case-insensitive joins and comparisons run on integers."""
    codes, uniques = _codes(series)
    lowered = pd.Series([str(u).lower() for u in uniques] + [""], dtype=object)
    low_codes, low_uniques = pd.factorize(lowered)
    return np.asarray(low_codes, dtype=np.int64)[codes], np.asarray(low_uniques, dtype=object)


def _principal_words(principal_type: str) -> str:
    return {
        USER: "user",
        GROUP: "group",
        SERVICE_PRINCIPAL: "service principal",
        ACCOUNT_USERS: "every account user",
        UNKNOWN: "principal",
    }.get(principal_type, "principal")


def _collect(
    frame: pd.DataFrame, keys: list[str], lists: Mapping[str, str], firsts: Mapping[str, str]
) -> pd.DataFrame:
    """One row per `keys` (sorted): each `lists` output a tuple of the column's non-null values in sorted row
    order (duplicates dropped), each `firsts` output the first value. Sorted once, then sliced per key: no
    Python work per row and none of a pandas groupby's per-group overhead (there are many small groups)."""
    ordered = frame.sort_values([*keys, *lists.values()], kind="stable", na_position="last").reset_index(drop=True)
    columns = [*keys, *lists, *firsts]
    if ordered.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    # Rows of one key are contiguous once sorted: each key's slice of the rows, in order of first appearance.
    group = ordered.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first_rows = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    out: dict[str, Any] = {k: ordered[k].to_numpy(dtype=object)[first_rows] for k in keys}
    n_groups = len(first_rows)
    for name, column in lists.items():
        values = ordered[column]
        present = values.notna().to_numpy()
        kept = ordered.loc[present, [column]].assign(_g=group[present]).drop_duplicates(["_g", column])
        g, v = kept["_g"].to_numpy(), kept[column].to_numpy(dtype=object).tolist()
        bounds = np.searchsorted(g, np.arange(n_groups + 1))  # kept rows stay grouped and in group order
        out[name] = [tuple(v[lo:hi]) for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    for name, column in firsts.items():
        out[name] = ordered[column].to_numpy(dtype=object)[first_rows]
    # Object columns: the callers iterate the rows, and iterating pandas 3's arrow strings is slow.
    return pd.DataFrame({c: pd.Series(out[c], dtype=object) for c in columns}, columns=columns)


def _agg_privileges(frame: pd.DataFrame, keys: list[str], column: str = "privilege") -> pd.DataFrame:
    """One row per `keys` with `column` as a sorted tuple of distinct values."""
    if frame.empty:
        return pd.DataFrame(
            {**{k: pd.Series([], dtype=object) for k in keys}, column: pd.Series([], dtype=object)}
        )
    ordered = frame[[*keys, column]].astype(object).drop_duplicates().sort_values([*keys, column])
    grouped = ordered.groupby(keys, sort=True, dropna=False)[column].agg(lambda s: tuple(s))
    return grouped.reset_index()


def _catalog_of(securables: pd.DataFrame) -> pd.Series:
    """Catalog name of each row's securable (by `securable_type`/`full_name`), None outside catalogs."""
    parts = securables["full_name"].astype(str).str.split(".")
    return parts.str[0].where(securables["securable_type"].isin(_IN_CATALOG), None)


def _schema_of(securables: pd.DataFrame) -> pd.Series:
    parts = securables["full_name"].astype(str).str.split(".")
    return (parts.str[0] + "." + parts.str[1]).where(securables["securable_type"].isin(_IN_SCHEMA), None)


def _spellings(snapshot: Snapshot, names: set[str]) -> set[str]:
    """The names of principals whose lower-case name is in `names`, as the identity tables spell them (the
    spelling the snapshot's derived tables use)."""
    out = set()
    for table, column in (
        ("users", "user_name"),
        ("service_principals", "application_id"),
        ("groups", "group_name"),
    ):
        values = getattr(snapshot, table)[column]
        out |= set(values[_lower(values).isin(names)])
    return out | ({ACCOUNT_USERS_NAME} if ACCOUNT_USERS_NAME in names else set())


def _rows_of(frame: pd.DataFrame, principals: set[str]) -> pd.DataFrame:
    """Rows of an effective-grants-shaped frame held by these principals (exact names: a cheap first cut on
    large tables)."""
    return frame[frame["principal"].isin(principals)]


def _inactive(snapshot: Snapshot) -> pd.DataFrame:
    """Deactivated users and service principals: principal, principal_type, name_lower."""
    users = snapshot.users[~snapshot.users["active"].astype(bool)]
    sps = snapshot.service_principals[~snapshot.service_principals["active"].astype(bool)]
    frame = pd.concat(
        [
            pd.DataFrame({"principal": users["user_name"].astype(object), "principal_type": USER}),
            pd.DataFrame(
                {"principal": sps["application_id"].astype(object), "principal_type": SERVICE_PRINCIPAL}
            ),
        ],
        ignore_index=True,
    )
    return frame.assign(name_lower=_lower(frame["principal"]))


def _member_counts(snapshot: Snapshot) -> pd.Series:
    """Group name (lower case) -> number of distinct users and service principals in it, nesting followed
    (computed once per snapshot, on integer codes)."""
    return derived.cached(snapshot, "compliance.member_counts", lambda: _count_members(snapshot),
                          ("transitive_memberships",))


def _count_members(snapshot: Snapshot) -> pd.Series:
    tm = snapshot.transitive_memberships
    people = tm[np.asarray(tm["member_type"].isin([USER, SERVICE_PRINCIPAL]), dtype=bool)]
    g, g_names = _lower_codes(people["group_name"])
    m, m_names = _lower_codes(people["member_name"])
    pairs = np.unique(g * len(m_names) + m)  # distinct (group, member)
    counts = np.bincount(pairs // max(len(m_names), 1), minlength=len(g_names)).astype(np.int64)
    present = np.zeros(len(g_names), dtype=bool)
    present[g] = True
    out = pd.Series(counts, index=pd.Index(g_names, dtype=object, name="g"), name="m")[present]
    return out.sort_index()


def _synced_groups(snapshot: Snapshot) -> set[str]:
    groups = snapshot.groups
    return set(_lower(groups.loc[groups["external_id"].notna(), "group_name"]))


def _suggested_owners(snapshot: Snapshot) -> dict[tuple[str, str], tuple[str, str]]:
    """(metastore_id, securable full name) -> (a group or service principal that could own it, where that
    suggestion comes from): the owner of its schema if that is a group or service principal, else its
    catalog's. Computed once per snapshot."""
    return derived.cached(snapshot, "compliance.suggested_owners", lambda: _suggest_owners(snapshot),
                          ("securables",))


def _suggest_owners(snapshot: Snapshot) -> dict[tuple[str, str], tuple[str, str]]:
    sec = snapshot.securables
    good = sec[
        sec["owner_type"].isin([GROUP, SERVICE_PRINCIPAL]) & sec["securable_type"].isin(["CATALOG", "SCHEMA"])
    ]
    owner_of = {
        (m, n): (o, f"the owner of {t.lower()} {n}")
        for m, t, n, o in zip(
            good["metastore_id"], good["securable_type"], good["full_name"], good["owner"], strict=True
        )
    }
    out = {}
    for m, t, n in zip(sec["metastore_id"], sec["securable_type"], sec["full_name"], strict=True):
        parts = str(n).split(".")
        if t not in _IN_CATALOG:
            continue
        candidates = [".".join(parts[:2])] if len(parts) > 2 else []
        candidates += [parts[0]] if len(parts) > 1 else []
        for c in candidates:
            if (m, c) in owner_of:
                out[(m, n)] = owner_of[(m, c)]
                break
    return out


def _transfer_sql(suggested: dict[tuple[str, str], tuple[str, str]], securable: Mapping[str, Any]) -> str:
    """ALTER ... OWNER TO the suggested owner of a securables row (a placeholder when there is none)."""
    key = (securable["metastore_id"], securable["full_name"])
    new_owner, source = suggested.get(key, (_PLACEHOLDER_GROUP, "a group that should own it"))
    sql = owner_sql(securable["securable_type"], securable["full_name"], new_owner, securable["kind"])
    return f"{sql} -- {source}" if securable["securable_type"] != "METASTORE" else sql


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts (what `iterrows` gives, without building a Series per row)."""
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True)) for row in frame.itertuples(index=False, name=None)]


# -- built-in rules ------------------------------------------------------------------------------------


@rule(
    id="direct_user_grant",
    severity="medium",
    title="Privileges granted directly to a user",
    rationale="Grants to individuals bypass group-based access reviews, survive role changes and are "
    "forgotten when people move; access should come from groups that mirror roles.",
    remediation="REVOKE the privilege from the user and GRANT it to a group they belong to (or rely on the "
    "group that already gives it).",
    depends=("groups", "memberships", "catalog_grants"),
    reads=("users", "grants"),
)
def _direct_user_grant(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    active = set(_lower(snapshot.users.loc[snapshot.users["active"].astype(bool), "user_name"]))
    grants = snapshot.grants
    direct = grants[(grants["principal_type"] == USER) & _lower(grants["principal"]).isin(active)]
    if direct.empty:
        return findings_frame()
    direct = direct[["metastore_id", "securable_type", "full_name", "principal", "privilege"]].astype(object)
    direct = direct.assign(
        user=_lower(direct["principal"]), catalog=_catalog_of(direct), schema=_schema_of(direct)
    )

    # Which of these privileges a group (or `account users`) already gives, here or on a parent.
    # Only the rows of these users on these securables or their catalog and schema can match (a cheap cut on
    # integer codes before anything is turned into strings).
    everything = snapshot.effective_grants
    sites = pd.DataFrame({
        "p": np.concatenate([direct["user"].to_numpy(dtype=object)] * 3),
        "name": np.concatenate([direct[c].to_numpy(dtype=object) for c in ("full_name", "catalog", "schema")]),
    })
    eff = everything[_is_in(everything["principal"], _spellings(snapshot, set(direct["user"])))
                     & _pairs_mask(everything, sites)]
    eff = eff[(eff["principal_type"] == USER) & (_lower(eff["granted_to"]) != _lower(eff["principal"]))]
    eff = eff.assign(user=_lower(eff["principal"]))[
        ["user", "metastore_id", "securable_type", "full_name", "privilege", "granted_to"]
    ].astype(object)
    targets = pd.concat(
        [
            direct.assign(t_type=direct["securable_type"], t_name=direct["full_name"]),
            direct[direct["catalog"].notna() & (direct["securable_type"] != "CATALOG")].assign(
                t_type="CATALOG", t_name=lambda d: d["catalog"]
            ),
            direct[direct["schema"].notna()].assign(t_type="SCHEMA", t_name=lambda d: d["schema"]),
        ],
        ignore_index=True,
    )
    eff = eff.rename(columns={"securable_type": "t_type", "full_name": "t_name", "privilege": "held"})
    joined = targets.merge(eff, on=["user", "metastore_id", "t_type", "t_name"], how="inner")
    covers = (joined["held"] == joined["privilege"]) | (
        (joined["held"] == "ALL_PRIVILEGES") & ~joined["privilege"].isin(_OUTSIDE_ALL_PRIVILEGES)
    )
    covered = joined[covers]
    covered = covered.assign(
        how=covered["granted_to"]
        + " ("
        + covered["held"]
        + " on "
        + covered["t_type"]
        + " "
        + covered["t_name"]
        + ")"
    )
    key = ["metastore_id", "securable_type", "full_name", "principal"]
    covered_by = _agg_privileges(covered, [*key, "privilege"], "how")
    direct = direct.merge(covered_by, on=[*key, "privilege"], how="left")

    # A group to move the grant to: the smallest group of the user that already holds a grant in the catalog,
    # else the smallest group the user belongs to directly.
    tm = snapshot.transitive_memberships
    tm = tm[tm["member_type"] == USER]
    tm = tm.assign(user=_lower(tm["member_name"]))
    tm = tm[tm["user"].isin(set(direct["user"]))]
    tm = tm.assign(g=_lower(tm["group_name"]), group_name=tm["group_name"].astype(object))
    tm = tm.assign(size=tm["g"].map(_member_counts(snapshot)).fillna(0)).sort_values(["size", "group_name"])
    in_catalog = grants[grants["principal_type"] == GROUP]
    in_catalog = pd.DataFrame({"g": _lower(in_catalog["principal"]), "catalog": _catalog_of(in_catalog)})
    wanted = direct[["user", "catalog"]].drop_duplicates()
    near = tm.merge(wanted, on="user").merge(in_catalog.drop_duplicates(), on=["g", "catalog"])
    near = near.drop_duplicates(["user", "catalog"])[["user", "catalog", "group_name"]]
    mine = tm[tm["depth"] == 1].drop_duplicates("user")[["user", "group_name"]]
    direct = direct.merge(near, on=["user", "catalog"], how="left").merge(
        mine.rename(columns={"group_name": "own_group"}), on="user", how="left"
    )
    direct["group_name"] = direct["group_name"].where(direct["group_name"].notna(), direct["own_group"])
    direct = direct.assign(
        given=direct["privilege"].where(direct["how"].notna(), None),
        missing=direct["privilege"].where(direct["how"].isna(), None),
        held=(
            direct["privilege"] + " already given through " + direct["how"].map(_names, na_action="ignore")
        ),
    )
    per_grant = _collect(
        direct,
        key,
        {"privileges": "privilege", "missing": "missing", "held": "held"},
        {"group": "group_name"},
    )
    per_grant["held"] = per_grant["held"].map("; ".join)

    rows = []
    for metastore, stype, name, principal, privileges, missing, held, group in per_grant.itertuples(
        index=False
    ):
        detail = f"{_names(privileges)} on {stype} {name} granted directly to user {principal}; "
        detail += held or "no group of theirs gives it"
        remediation = grant_sql("REVOKE", privileges, stype, name, principal) + ";"
        if not missing:
            remediation += " -- redundant: a group of the user already gives it"
        elif isinstance(group, str):
            remediation += " -- then grant it to a group the user belongs to: " + grant_sql(
                "GRANT", missing, stype, name, group
            )
        else:
            remediation += " -- then add the user to a group and grant it there: " + grant_sql(
                "GRANT", missing, stype, name, _PLACEHOLDER_GROUP
            )
        rows.append(
            dict(
                principal=principal,
                principal_type=USER,
                securable_type=stype,
                securable=name,
                detail=detail,
                remediation=remediation,
                key=metastore,
            )
        )
    return findings_frame(rows)


def _revoke_rows(grants: pd.DataFrame, kind_of: Callable[[str], str], detail: Callable[[Any, str], str]) -> list[dict]:
    """One finding per (principal, securable) of `grants`, with the REVOKE that removes them all."""
    rows = []
    for g in _records(_agg_privileges(grants, ["principal", "securable_type", "full_name"])):
        kind = kind_of(g["principal"])
        rows.append(dict(
            principal=g["principal"], principal_type=kind, securable_type=g["securable_type"],
            securable=g["full_name"], key="grant", detail=detail(g, kind),
            remediation=grant_sql("REVOKE", g["privilege"], g["securable_type"], g["full_name"], g["principal"]) + ";",
        ))
    return rows


def _owner_rows(snapshot: Snapshot, owned: pd.DataFrame, kind_of: Callable[[str], str],
                detail: Callable[[Any, str], str]) -> list[dict]:
    """One finding per securable in `owned`, with the ALTER ... OWNER TO that hands it to a group."""
    suggested = _suggested_owners(snapshot)
    rows = []
    for s in _records(owned):
        kind = kind_of(s["owner"])
        rows.append(dict(
            principal=s["owner"], principal_type=kind, securable_type=s["securable_type"],
            securable=s["full_name"], key="owner", detail=detail(s, kind), remediation=_transfer_sql(suggested, s),
        ))
    return rows


def _remove_from_groups(member: str, groups: list[str], synced: set[str]) -> str:
    plural = "groups" if len(groups) > 1 else "group"
    text = f"Remove {member} from {plural} {_names(groups)}"
    from_idp = [g for g in groups if g.lower() in synced]
    if from_idp == groups:
        text += (
            " in the identity provider (synced: a change made only in Databricks is undone by the next sync)"
        )
    elif from_idp:
        text += f" ({_names(from_idp)} in the identity provider: synced groups)"
    return text


@rule(
    id="deactivated_principal_access",
    severity="high",
    title="Deactivated user or service principal still holds grants, memberships or ownership",
    rationale="Deactivation blocks sign-in but leaves grants, group memberships and ownership in place: "
    "reactivating the account, or a new account with the same name, gets them all back.",
    remediation="Revoke the grants, remove the memberships and transfer ownership to a group.",
    depends=("memberships@memberships", "groups@owner", "service_principals@owner"),
    reads=("users", "service_principals", "grants", "securables"),
)
def _deactivated_principal_access(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    inactive = _inactive(snapshot)
    if inactive.empty:
        return findings_frame()
    type_of = dict(zip(inactive["name_lower"], inactive["principal_type"], strict=True))

    def kind_of(name: str) -> str:
        return type_of[name.lower()]

    grants = snapshot.grants[_lower(snapshot.grants["principal"]).isin(type_of)]
    rows = _revoke_rows(grants, kind_of, lambda g, kind: (
        f"deactivated {_principal_words(kind)} still holds {_names(g['privilege'])} on "
        f"{g['securable_type']} {g['full_name']}"))

    mem = snapshot.memberships
    mem = mem[mem["member_type"].isin([USER, SERVICE_PRINCIPAL]) & _lower(mem["member_name"]).isin(type_of)]
    synced = _synced_groups(snapshot)
    for _, m in _agg_privileges(mem, ["member_name", "member_type"], "group_name").iterrows():
        groups = list(m["group_name"])
        rows.append(
            dict(
                principal=m["member_name"],
                principal_type=m["member_type"],
                key="memberships",
                detail=f"deactivated {_principal_words(m['member_type'])} is still a member of "
                f"{_names(groups)}",
                remediation=_remove_from_groups(m["member_name"], groups, synced),
            )
        )

    sec = snapshot.securables
    owned = sec[sec["owner"].notna() & _lower(sec["owner"]).isin(type_of)]
    rows += _owner_rows(snapshot, owned, kind_of, lambda s, kind: (
        f"deactivated {_principal_words(kind)} still owns {s['securable_type']} {s['full_name']}"))
    return findings_frame(rows)


@rule(
    id="user_in_no_group",
    severity="low",
    title="Active user in no group",
    rationale="A user in no group gets access only from direct grants and `account users`: outside every "
    "role-based review, and often a leftover or a mistyped identity.",
    remediation="Add the user to the groups of their role (in the identity provider for synced users) or "
    "deactivate them.",
    depends=("memberships",),
    reads=("users",),
)
def _user_in_no_group(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    users = snapshot.users[snapshot.users["active"].astype(bool)]
    mem = snapshot.memberships
    members = set(_lower(mem.loc[mem["member_type"] == USER, "member_name"]))
    lonely = users[~_lower(users["user_name"]).isin(members)].sort_values("user_name")
    rows = []
    for _, u in lonely.iterrows():
        synced = pd.notna(u["external_id"])
        origin = "synced from the identity provider" if synced else "created in Databricks"
        where = "in the identity provider" if synced else "in the account console"
        rows.append(
            dict(
                principal=u["user_name"],
                principal_type=USER,
                detail=f"active user ({origin}) who belongs to no group",
                remediation=f"Add {u['user_name']} to the groups their role needs ({where}), "
                "or deactivate the user if they no longer need access",
            )
        )
    return findings_frame(rows)


def _held(snapshot: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grants and owned securables with a lower-case principal column `p`."""
    grants = snapshot.grants.assign(p=_lower(snapshot.grants["principal"]))
    owned = snapshot.securables[snapshot.securables["owner"].notna()]
    return grants, owned.assign(p=_lower(owned["owner"]))


def _unreadable_groups(snapshot: Snapshot) -> set[str]:
    comp = snapshot.completeness
    return set(_lower(comp.loc[comp["object_type"] == "group", "object_name"]))


@rule(
    id="empty_group",
    severity="low",
    title="Group with no members",
    rationale="An empty group is clutter at best; if it still holds grants, whoever is added to it later "
    "inherits them without review.",
    remediation="Delete the group (revoke its grants first) or add the members it is meant to have.",
    depends=("members", "all_grants"),
    reads=("groups",),
)
def _empty_group(snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None) -> pd.DataFrame:
    groups = snapshot.groups
    with_members = set(_lower(snapshot.memberships["group_name"]))
    empty = groups[
        (groups["direct_member_count"] == 0)
        & ~_lower(groups["group_name"]).isin(with_members)
        & ~_lower(groups["group_name"]).isin(_unreadable_groups(snapshot))
    ]
    grants, owned = _held(snapshot)
    rows = []
    for _, g in empty.sort_values("group_name").iterrows():
        name, lower = g["group_name"], g["group_name"].lower()
        its_grants = _agg_privileges(
            grants[grants["p"] == lower], ["principal", "securable_type", "full_name"]
        )
        its_owned = owned[owned["p"] == lower]
        detail = f"group {name} has no members"
        steps = []
        if len(its_grants):
            detail += f"; it still holds grants on {_names(its_grants['full_name'])}"
            steps += [
                grant_sql("REVOKE", r["privilege"], r["securable_type"], r["full_name"], r["principal"]) + ";"
                for _, r in its_grants.iterrows()
            ]
        if len(its_owned):
            detail += f"; it owns {_names(its_owned['full_name'])}"
            steps.append("transfer ownership of " + _names(its_owned["full_name"]) + " (ALTER ... OWNER TO)")
        where = " in the identity provider (it is synced)" if pd.notna(g["external_id"]) else ""
        fix = f"Delete the empty group {name}{where} or add members"
        remediation = (" ".join(steps) + " -- then: " + fix) if steps else fix
        rows.append(dict(principal=name, principal_type=GROUP, detail=detail, remediation=remediation))
    return findings_frame(rows)


@rule(
    id="group_without_grants",
    severity="low",
    title="Group that holds no grant anywhere",
    rationale="A group with members but no grant, no ownership, no workspace assignment and no admin role "
    "gives its members nothing of its own: either it is dead weight or its access is granted "
    "somewhere it cannot be reviewed.",
    remediation="Delete the group if it has no purpose, or grant it the privileges its members need.",
    depends=("members", "memberships", "all_grants", "all_assignments"),
    reads=("groups",),
)
def _group_without_grants(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    groups = snapshot.groups
    members = set(_lower(snapshot.memberships["group_name"]))
    grants, owned = _held(snapshot)
    wa, admins = snapshot.workspace_assignments, snapshot.admin_roles
    busy = (
        set(grants["p"])
        | set(owned["p"])
        | set(_lower(wa.loc[wa["principal_type"] == GROUP, "principal_name"]))
        | set(_lower(admins.loc[admins["principal_type"] == GROUP, "principal_name"]))
    )
    names = _lower(groups["group_name"])
    idle = groups[names.isin(members) & ~names.isin(busy)].sort_values("group_name")
    tm = snapshot.transitive_memberships
    nested = tm[tm["member_type"] == GROUP].assign(m=lambda d: _lower(d["member_name"]))
    sizes = _member_counts(snapshot)
    rows = []
    for _, g in idle.iterrows():
        name = g["group_name"]
        parents = sorted(
            nested.loc[(nested["m"] == name.lower()) & _lower(nested["group_name"]).isin(busy), "group_name"]
        )
        detail = (
            f"group {name} ({int(sizes.get(name.lower(), 0))} members) holds no grant, owns nothing and is "
            "assigned to no workspace"
        )
        if parents:
            detail += f"; its members get access only through {_names(parents)}"
        where = " in the identity provider (it is synced)" if pd.notna(g["external_id"]) else ""
        rows.append(
            dict(
                principal=name,
                principal_type=GROUP,
                detail=detail,
                remediation=f"Delete the group {name}{where} if it has no purpose, or grant it what its "
                f"members need: GRANT <privilege> ON <securable> TO {quote_principal(name)}",
            )
        )
    return findings_frame(rows)


@rule(
    id="broad_group_privileges",
    severity="high",
    title="ALL PRIVILEGES or MANAGE granted to a large group or to account users",
    rationale="ALL PRIVILEGES and MANAGE let every member change data and re-grant access; on a large "
    "group, or on `account users`, that is most of the company.",
    remediation="REVOKE the broad privilege and grant only what the group needs; keep ALL PRIVILEGES and "
    "MANAGE with a small owning group.",
    params={"threshold": 50, "privileges": ("ALL_PRIVILEGES", "MANAGE")},
    depends=("members",),
    reads=("groups", "grants"),
)
def _broad_group_privileges(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    grants = snapshot.grants[snapshot.grants["privilege"].isin(params["privileges"])]
    sizes = _member_counts(snapshot)
    size = _lower(grants["principal"]).map(sizes).fillna(0).astype("int64")
    broad = grants[
        (grants["principal_type"] == ACCOUNT_USERS)
        | ((grants["principal_type"] == GROUP) & (size > params["threshold"]))
    ]
    rows = []
    for _, g in _agg_privileges(
        broad, ["principal", "principal_type", "securable_type", "full_name"]
    ).iterrows():
        if g["principal_type"] == ACCOUNT_USERS:
            whom = f"{ACCOUNT_USERS_NAME} (every user and service principal of the account)"
        else:
            whom = (
                f"group {g['principal']} with {int(sizes.get(g['principal'].lower(), 0))} members "
                f"(threshold {params['threshold']})"
            )
        rows.append(
            dict(
                principal=g["principal"],
                principal_type=g["principal_type"],
                securable_type=g["securable_type"],
                securable=g["full_name"],
                detail=f"{_names(g['privilege'])} on {g['securable_type']} {g['full_name']} granted to {whom}",
                remediation=grant_sql(
                    "REVOKE", g["privilege"], g["securable_type"], g["full_name"], g["principal"]
                )
                + "; -- then grant only the privileges the group needs (e.g. USE CATALOG, USE SCHEMA, "
                "SELECT) and keep ALL PRIVILEGES / MANAGE with a small owning group",
            )
        )
    return findings_frame(rows)


@rule(
    id="securable_owned_by_user",
    severity="medium",
    title="Securable owned by an individual",
    rationale="An owner holds every privilege and can grant them; an individual owner leaves with the "
    "person and escapes group reviews. Owners should be groups or service principals.",
    remediation="ALTER ... OWNER TO a group (or the service principal that maintains the object).",
    depends=("groups", "service_principals"),
    reads=("users", "securables"),
)
def _securable_owned_by_user(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    sec = snapshot.securables
    inactive = set(_inactive(snapshot)["name_lower"])
    owned = sec[(sec["owner_type"] == USER) & ~_lower(sec["owner"]).isin(inactive)]
    suggested = _suggested_owners(snapshot)
    rows = []
    for s in _records(owned):
        rows.append(
            dict(
                principal=s["owner"],
                principal_type=USER,
                securable_type=s["securable_type"],
                securable=s["full_name"],
                detail=f"{s['securable_type']} {s['full_name']} is owned by the user {s['owner']}",
                remediation=_transfer_sql(suggested, s),
            )
        )
    return findings_frame(rows)


def _data_privileges(access: Any) -> list[str]:
    return [p for privileges in access.DATA_PRIVILEGES.values() for p in privileges]


def _is_in(series: pd.Series, values: set[str]) -> np.ndarray:
    """Boolean mask `series.isin(values)` as numpy (a categorical is matched through its categories)."""
    return np.asarray(series.isin(values), dtype=bool)


def _deciding(data: pd.DataFrame) -> Callable[[pd.DataFrame], np.ndarray]:
    """For data grants (principal, securable_type, full_name): a mask over holdings frames (principal,
    full_name) keeping the rows that can decide whether those grants are usable. Usability of a privilege
    a principal holds on X depends only on what that principal holds on X, on X's catalog and on X's
    schema; a catalog grant is judged on the schemas below it. So a holding is kept when its (lower-case
    principal, name) is a grant's (grantee, securable / its catalog / its schema), or when its name lies in
    a catalog granted to that principal. A superset of what matters: the verdicts do not change."""
    p = _lower(data["principal"]).to_numpy(dtype=object)
    name = data["full_name"].astype(object).to_numpy(dtype=object)
    parts = pd.Series(name, dtype=object).astype(str).str.split(".")
    catalog = parts.str[0].to_numpy(dtype=object)
    schema = (parts.str[0] + "." + parts.str[1]).to_numpy(dtype=object)  # NaN for a one-part name
    exact = pd.DataFrame({"p": np.concatenate([p, p, p]), "name": np.concatenate([name, catalog, schema])})
    on_catalog = np.asarray(data["securable_type"] == "CATALOG", dtype=bool)
    whole = pd.DataFrame({"p": p[on_catalog], "name": name[on_catalog]})
    return lambda held: _pairs_mask(held, exact, whole)


def _pairs_mask(held: pd.DataFrame, exact: pd.DataFrame, catalogs: pd.DataFrame | None = None) -> np.ndarray:
    """Rows of `held` (principal, full_name) whose (lower-case principal, full_name) is a row (p, name) of
    `exact`, or whose (lower-case principal, catalog part of full_name) is one of `catalogs`. On integer
    codes: a categorical column is not turned into strings."""
    if held.empty:
        return np.zeros(0, dtype=bool)

    def keys(frame: pd.DataFrame, p_index: pd.Index, n_index: pd.Index) -> np.ndarray:
        pi, ni = p_index.get_indexer(frame["p"]), n_index.get_indexer(frame["name"])
        ok = (pi >= 0) & (ni >= 0)
        return np.unique(pi[ok].astype(np.int64) * len(n_index) + ni[ok])

    pc, p_uniques = _lower_codes(held["principal"])
    nc, n_uniques = _codes(held["full_name"])
    nc = np.asarray(nc, dtype=np.int64)
    n_uniques = np.asarray(n_uniques, dtype=object)
    p_index, n_index = pd.Index(p_uniques), pd.Index(n_uniques)
    hit = _member(pc * len(n_index) + nc, keys(exact, p_index, n_index))
    if catalogs is not None and len(catalogs):
        c_codes, c_uniques = pd.factorize(pd.Series(n_uniques, dtype=object).astype(str).str.split(".").str[0])
        c_index = pd.Index(np.asarray(c_uniques, dtype=object))
        cc = np.append(np.asarray(c_codes, dtype=np.int64), -1)[nc]
        hit |= _member(pc * len(c_index) + cc, keys(catalogs, p_index, c_index)) & (cc >= 0)
    return hit & (nc >= 0)


def _member(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """`np.isin(values, keys)` for millions of int64 values through a hash table (np.isin sorts them)."""
    if not len(keys):
        return np.zeros(len(values), dtype=bool)
    return pd.Index(keys).get_indexer(values) >= 0


@rule(
    id="granted_not_usable",
    severity="low",
    title="Privilege granted but not usable",
    rationale="A data privilege without USE CATALOG on its catalog and USE SCHEMA on its schema does nothing: "
    "the request behind it is unmet, and whoever later grants the missing USE privilege opens it "
    "without knowing.",
    remediation="GRANT the missing USE CATALOG / USE SCHEMA to the grantee, or REVOKE the unusable privilege.",
    depends=("memberships", "catalog_grants"),
    reads=("users", "service_principals", "groups", "grants", "securables"),
)
def _granted_not_usable(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    from . import access

    grants = snapshot.grants
    inactive = set(_inactive(snapshot)["name_lower"])
    data = grants[
        grants["securable_type"].isin(_IN_CATALOG)
        & grants["privilege"].isin([*_data_privileges(access), "ALL_PRIVILEGES"])
        & grants["principal_type"].isin([USER, GROUP, SERVICE_PRINCIPAL, ACCOUNT_USERS])
        & ~_lower(grants["principal"]).isin(inactive)
    ]
    if data.empty:
        return findings_frame()
    grantees = set(_lower(data["principal"]))
    spellings = _spellings(snapshot, grantees) | set(data["principal"])

    # What each grantee holds (as grantee, member or owner). A group's members are all account users, so
    # what `account users` holds counts for a grantee group too.
    # Only the holdings that can decide a grant's verdict are kept (see `_deciding`): a usability row of
    # (grantee, securable) depends on what the grantee holds there and on its catalog and schema.
    columns = ["principal", "principal_type", "securable_type", "full_name", "privilege"]
    deciding = _deciding(data)
    everything = snapshot.effective_grants
    eff = everything[_is_in(everything["principal"], spellings) & deciding(everything)][columns].astype(object)
    everyone = everything.loc[np.asarray(everything["principal_type"] == ACCOUNT_USERS, dtype=bool), columns[2:]]
    for_groups = data.loc[data["principal_type"] == GROUP, ["principal"]].drop_duplicates().astype(object)
    lent = everyone.astype(object).merge(for_groups.assign(principal_type=GROUP), how="cross")
    held = pd.concat([eff, lent.loc[deciding(lent), columns]], ignore_index=True)
    # Ownership counts too: securables owned by a grantee or by a group a grantee belongs to.
    tm = snapshot.transitive_memberships
    above = set(_lower(tm.loc[_lower(tm["member_name"]).isin(grantees).to_numpy(), "group_name"])) | grantees
    sec = snapshot.securables
    owned = sec[sec["owner"].notna() & _lower(sec["owner"]).isin(above)]
    owners = access.effective_owners(owned, tm[_is_in(tm["member_name"], spellings)])  # grantees' rows only
    owners = owners[_is_in(owners["principal"], spellings) & deciding(owners)]
    usable = access.usability(held, snapshot.securables, owners=owners).astype(object)
    usable = usable[~usable["usable"].astype(bool)].assign(p=lambda d: _lower(d["principal"]))

    # Back to the grants: a grant on a table, volume, function or schema is judged where it sits; a grant on
    # a catalog by the schemas below it (it is usable in none of them without USE CATALOG).
    data = data.assign(p=_lower(data["principal"]))
    on_site = data[data["securable_type"] != "CATALOG"].merge(
        usable[~usable["inherited"].astype(bool)][
            ["p", "securable_type", "full_name", "missing", "catalog_name", "schema_name"]
        ],
        on=["p", "securable_type", "full_name"],
    )
    on_catalog = data[data["securable_type"] == "CATALOG"].merge(
        usable[usable["inherited"].astype(bool)][["p", "catalog_name", "schema_name", "missing"]],
        left_on=["p", "full_name"],
        right_on=["p", "catalog_name"],
    )
    keys = ["principal", "principal_type", "securable_type", "full_name"]
    rows = []
    for frame_, level in ((on_site, "site"), (on_catalog, "catalog")):
        if frame_.empty:
            continue
        missing_text = frame_["missing"].astype(object).fillna("").astype(str)
        frame_ = frame_.assign(
            uc=missing_text.str.contains("USE CATALOG", regex=False),
            us=missing_text.str.contains("USE SCHEMA", regex=False),
        )
        per_grant = _collect(
            frame_.drop_duplicates([*keys, "privilege", "uc", "us"]),
            keys,
            {"privileges": "privilege", "uc": "uc", "us": "us"},
            {"catalog": "catalog_name", "schema": "schema_name"},
        )
        per_grant["uc"], per_grant["us"] = per_grant["uc"].map(any), per_grant["us"].map(any)
        for principal, ptype, stype, name, privileges, uc, us, catalog, schema in per_grant.itertuples(
            index=False
        ):
            fixes, missing = [], []
            if uc:
                missing.append(f"USE CATALOG on {catalog}")
                fixes.append(grant_sql("GRANT", ["USE_CATALOG"], "CATALOG", catalog, principal))
            if us and level == "catalog":
                missing.append(f"USE SCHEMA on the schemas of {name}")
                fixes.append(grant_sql("GRANT", ["USE_SCHEMA"], "CATALOG", name, principal))
            elif us:
                missing.append(f"USE SCHEMA on {schema}")
                fixes.append(grant_sql("GRANT", ["USE_SCHEMA"], "SCHEMA", schema, principal))
            rows.append(
                dict(
                    principal=principal,
                    principal_type=ptype,
                    securable_type=stype,
                    securable=name,
                    detail=f"{_names(privileges)} on {stype} {name} granted to "
                    f"{_principal_words(ptype)} {principal} without {' and '.join(missing)}",
                    remediation="; ".join(fixes)
                    + "; -- or, if it is not needed: "
                    + grant_sql("REVOKE", privileges, stype, name, principal),
                )
            )
    return findings_frame(rows)


def _admin_members(snapshot: Snapshot) -> pd.DataFrame:
    """admin_roles with groups expanded: role, workspace_id, member (lower), member_name, holder (the role row)."""
    roles = snapshot.admin_roles
    people = roles[roles["principal_type"].isin([USER, SERVICE_PRINCIPAL])]
    people = people.assign(member_name=people["principal_name"])
    groups = roles[roles["principal_type"] == GROUP].assign(g=lambda d: _lower(d["principal_name"]))
    tm = snapshot.transitive_memberships
    tm = tm[tm["member_type"].isin([USER, SERVICE_PRINCIPAL])]
    via = groups.merge(tm.assign(g=_lower(tm["group_name"]))[["g", "member_name"]], on="g")
    both = pd.concat(
        [people[["role", "workspace_id", "member_name"]], via[["role", "workspace_id", "member_name"]]],
        ignore_index=True,
    )
    inactive = set(_inactive(snapshot)["name_lower"])
    both = both.assign(member=_lower(both["member_name"]))
    return both[~both["member"].isin(inactive)]


def _workspace_names(snapshot: Snapshot) -> dict[int, str]:
    ws = snapshot.workspaces
    return {int(i): str(n) for i, n in zip(ws["workspace_id"], ws["workspace_name"], strict=True)}


@rule(
    id="admin_inventory",
    severity="info",
    title="Account and workspace admins",
    rationale="Admins can change every identity, grant and workspace setting; auditors ask for the list at "
    "every review.",
    remediation="Confirm each admin still needs the role; remove it where not.",
    depends=("members", "users", "service_principals"),
    reads=("groups", "assignments", "workspaces"),
)
def _admin_inventory(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    roles = snapshot.admin_roles.sort_values(["role", "workspace_id", "principal_type", "principal_name"])
    names = _workspace_names(snapshot)
    sizes = _member_counts(snapshot)
    inactive = set(_inactive(snapshot)["name_lower"])
    sps = snapshot.service_principals
    sp_names = dict(zip(_lower(sps["application_id"]), sps["display_name"], strict=True))
    rows = []
    for _, r in roles.iterrows():
        who, kind = r["principal_name"], r["principal_type"]
        shown = sp_names.get(who.lower()) if kind == SERVICE_PRINCIPAL else None
        label = (
            f"{_principal_words(kind)} {shown} ({who})"
            if isinstance(shown, str)
            else f"{_principal_words(kind)} {who}"
        )
        if r["role"] == "account_admin":
            scope_type, scope = "ACCOUNT", snapshot.account_id
            detail = f"{label} is an account admin"
            remediation = (
                f"If {who} no longer needs it, remove the account admin role (account console > "
                "User management > Roles)"
            )
        else:
            ws = int(r["workspace_id"])
            scope_type, scope = "WORKSPACE", names.get(ws, str(ws))
            detail = f"{label} is a workspace admin of {scope} ({ws})"
            remediation = (
                f"If {who} no longer needs it, set their permission on workspace {scope} to USER "
                "(account console > Workspaces > Permissions)"
            )
        if kind == GROUP:
            detail += f"; every one of its {int(sizes.get(who.lower(), 0))} member(s) holds the role"
        if who.lower() in inactive:
            detail += " (deactivated)"
        rows.append(
            dict(
                principal=who,
                principal_type=kind,
                securable_type=scope_type,
                securable=scope,
                detail=detail,
                remediation=remediation,
                key=f"{r['role']}:{int(r['workspace_id'])}",
            )
        )
    return findings_frame(rows)


@rule(
    id="too_many_admins",
    severity="medium",
    title="More admins than the threshold",
    rationale="Every admin is a privileged account to protect; the fewer the better. Groups holding an admin "
    "role count with all their (active) members.",
    remediation="Remove the admin role from those who do not need it.",
    params={"account_admin_threshold": 5, "workspace_admin_threshold": 5},
    depends=("memberships", "users", "service_principals", "groups"),
    reads=("assignments", "workspaces"),
)
def _too_many_admins(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    members = _admin_members(snapshot).drop_duplicates(["role", "workspace_id", "member"])
    names = _workspace_names(snapshot)
    rows = []
    for (role, ws), part in members.groupby(["role", "workspace_id"], sort=True):
        account = role == "account_admin"
        limit = params["account_admin_threshold" if account else "workspace_admin_threshold"]
        if len(part) <= limit:
            continue
        who = _names(sorted(part["member_name"]))
        scope = snapshot.account_id if account else names.get(int(ws), str(ws))
        what = "account admins" if account else f"workspace admins of {scope}"
        rows.append(
            dict(
                securable_type="ACCOUNT" if account else "WORKSPACE",
                securable=scope,
                key=str(ws),
                detail=f"{len(part)} {what} (threshold {limit}): {who}",
                remediation=f"Reduce the {what} to at most {limit}: remove the role from those who do "
                "not need it (and from groups that grant it to many)",
            )
        )
    return findings_frame(rows)


@rule(
    id="sp_write_on_production",
    severity="high",
    title="Service principal with write privileges on a production catalog",
    rationale="A service principal's credentials live in jobs and pipelines; write access to production "
    "through one should be narrow and deliberate, never a whole catalog by default.",
    remediation="REVOKE the write privilege (from the group, or remove the service principal from it) and "
    "grant the narrowest write it needs; list approved ones in allowed_service_principals.",
    params={
        "production_catalog_pattern": r"(^|_)prod(uction)?($|_)",
        "write_privileges": WRITE_PRIVILEGES,
        "allowed_service_principals": (),
    },
    depends=(),
    reads=("service_principals", "groups", "memberships", "catalog_grants", "securables"),
)
def _sp_write_on_production(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    eff = snapshot.effective_grants
    eff = eff[
        (eff["principal_type"] == SERVICE_PRINCIPAL) & eff["privilege"].isin(params["write_privileges"])
    ]
    catalog = _catalog_of(eff)
    pattern = re.compile(params["production_catalog_pattern"], re.IGNORECASE)
    production = catalog.map(lambda c: isinstance(c, str) and bool(pattern.search(c))).astype(bool)
    sps = snapshot.service_principals
    display = dict(zip(_lower(sps["application_id"]), sps["display_name"], strict=True))
    inactive = set(_inactive(snapshot)["name_lower"])
    allowed = {str(a).lower() for a in params["allowed_service_principals"]}
    allowed_ids = {k for k, v in display.items() if k in allowed or str(v).lower() in allowed}
    eff = eff[production & ~_lower(eff["principal"]).isin(inactive | allowed_ids)]
    grouped = _agg_privileges(
        eff.assign(via=eff["via"].astype(object).fillna("")),
        ["principal", "securable_type", "full_name", "granted_to", "via"],
    )
    rows = []
    for _, g in grouped.iterrows():
        sp, name = g["principal"], display.get(g["principal"].lower())
        label = f"service principal {name} ({sp})" if name else f"service principal {sp}"
        revoke = (
            grant_sql("REVOKE", g["privilege"], g["securable_type"], g["full_name"], g["granted_to"]) + ";"
        )
        if g["granted_to"].lower() == sp.lower():
            how, remediation = "granted directly", revoke + " -- then grant the narrowest write it needs"
        elif g["granted_to"].lower() == ACCOUNT_USERS_NAME:
            how, remediation = f"through {ACCOUNT_USERS_NAME}", revoke
        else:
            direct = g["via"].split(" > ")[0] if g["via"] else g["granted_to"]
            how = f"through group {g['via'] or g['granted_to']}"
            remediation = f"{revoke} -- or remove {sp} from group {direct}"
        rows.append(
            dict(
                principal=sp,
                principal_type=SERVICE_PRINCIPAL,
                securable_type=g["securable_type"],
                securable=g["full_name"],
                key=g["granted_to"],
                detail=f"{label} holds {_names(g['privilege'])} on production {g['securable_type']} "
                f"{g['full_name']}, {how}",
                remediation=remediation,
            )
        )
    return findings_frame(rows)


@rule(
    id="missing_principal",
    severity="high",
    title="Grant to, or ownership by, a principal that no longer exists",
    rationale="Grants outlive deleted users and groups; a new user or group created later with the same name "
    "silently inherits them.",
    remediation="REVOKE the grants of the missing principal; give owned securables to a group.",
    depends=("users", "service_principals", "groups"),
    reads=("grants", "securables"),
)
def _missing_principal(
    snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None
) -> pd.DataFrame:
    def unknown(_name: str) -> str:
        return UNKNOWN

    grants = snapshot.grants[snapshot.grants["principal_type"] == UNKNOWN]
    rows = _revoke_rows(grants, unknown, lambda g, _kind: (
        f"{_names(g['privilege'])} on {g['securable_type']} {g['full_name']} granted to "
        f"{g['principal']}, which is no user, group or service principal of the account"))
    sec = snapshot.securables
    orphans = sec[(sec["owner_type"] == UNKNOWN) & sec["owner"].notna()]
    rows += _owner_rows(snapshot, orphans, unknown, lambda s, _kind: (
        f"{s['securable_type']} {s['full_name']} is owned by {s['owner']}, which is no "
        "user, group or service principal of the account"))
    return findings_frame(rows)


def _privileged_groups(snapshot: Snapshot, params: Mapping[str, Any]) -> set[str]:
    """Lower-case names of groups that hold a privileged grant, own a securable, hold an admin role, are
    configured as privileged, or are nested (at any depth) inside such a group."""
    grants, owned = _held(snapshot)
    roles = snapshot.admin_roles
    direct = (
        set(
            grants.loc[
                (grants["principal_type"] == GROUP) & grants["privilege"].isin(params["privileges"]), "p"
            ]
        )
        | set(owned.loc[owned["owner_type"] == GROUP, "p"])
        | set(_lower(roles.loc[roles["principal_type"] == GROUP, "principal_name"]))
        | {str(g).lower() for g in params["privileged_groups"]}
    )
    tm = snapshot.transitive_memberships
    nested = tm[(tm["member_type"] == GROUP) & _lower(tm["group_name"]).isin(direct)]
    return direct | set(_lower(nested["member_name"]))


@rule(
    id="access_widened",
    severity="medium",
    title="Access widened since the previous snapshot",
    rationale="New grants and new members of privileged groups are where access creeps; each should match a "
    "reviewed request.",
    remediation="Confirm each change against its request; revoke the grant or remove the member if it was "
    "not intended.",
    params={"privileges": WRITE_PRIVILEGES, "privileged_groups": ()},
    depends=(),
    reads=("users", "service_principals", "groups", "memberships", "grants", "securables"),
    compares=True,
)
def _access_widened(snapshot: Snapshot, params: Mapping[str, Any], previous: Snapshot | None) -> pd.DataFrame:
    if previous is None:
        return findings_frame()
    from . import history

    changes = history.diff(previous, snapshot)
    rows = []
    added = changes[changes["change_kind"] == "grant_added"].astype(object)
    for _, g in _agg_privileges(
        added, ["principal", "principal_type", "securable_type", "full_name"]
    ).iterrows():
        rows.append(
            dict(
                principal=g["principal"],
                principal_type=g["principal_type"],
                securable_type=g["securable_type"],
                securable=g["full_name"],
                key="grant",
                detail=f"new grant since {pd.Timestamp(previous.snapshot_time).isoformat()}: "
                f"{_names(g['privilege'])} on {g['securable_type']} {g['full_name']} to "
                f"{_principal_words(g['principal_type'])} {g['principal']}",
                remediation="If not intended: "
                + grant_sql("REVOKE", g["privilege"], g["securable_type"], g["full_name"], g["principal"])
                + ";",
            )
        )
    privileged = _privileged_groups(snapshot, params)
    joined = changes[(changes["change_kind"] == "membership_added")].astype(object)
    joined = joined[_lower(joined["group_name"]).isin(privileged)].sort_values(["principal", "group_name"])
    synced = _synced_groups(snapshot)
    for _, m in joined.iterrows():
        rows.append(
            dict(
                principal=m["principal"],
                principal_type=m["principal_type"],
                key=f"member:{m['group_name']}",
                detail=f"new member of the privileged group {m['group_name']} since "
                f"{pd.Timestamp(previous.snapshot_time).isoformat()}",
                remediation="If not intended: "
                + _remove_from_groups(m["principal"], [m["group_name"]], synced),
            )
        )
    return findings_frame(rows)
