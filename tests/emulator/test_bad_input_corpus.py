"""A corpus of bad input: rosters, SQL grant scripts, plan files, SCIM filters and PATCH bodies, and
CLI arguments. Each one is refused with an error that names the line, field, statement or token
(asserted on the text), and nothing is written: the emulator's write counts and its state digest
are the same after the refusal as before.

The files are under tests/data/bad_inputs/; each case names what its error must say."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from scimkit import plans, snapshot
from scimkit.cli import main
from scimkit.connect import connect
from scimkit.emulator import Emulator
from scimkit.errors import InvalidInput
from scimkit.sources.roster import read_roster
from scimkit.sql_script import apply_script

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "bad_inputs"
AS_OF = date.fromisoformat(json.loads((ROOT / "sample_data" / "manifest.json").read_text())["drift"]["roster_as_of"])
WRITE_CLASSES = ("scim-write", "scim-patch", "uc-grants-write")

ROSTERS = [
    ("bad_email.csv", ["line 3, email", "`not-an-email` is not an email address"]),
    ("bad_date.csv", ["line 2, start_date", "`2026-13-45` is not a date"]),
    ("duplicate_email.csv", ["line 3, email", "also on line 2"]),
    ("end_before_start.csv", ["line 2, end_date", "before start date"]),
    ("extra_field.csv", ["line 2", "8 cells but the header names 7"]),
    ("missing_email_column.csv", ["line 1, name: unknown column `name`", "required column"]),
    ("not_utf8.csv", ["line 2", "not UTF-8"]),
    ("empty.csv", ["file: the file is empty"]),
    ("unknown_group.csv", ["line 2, groups", "no group `No.Such.Group`"]),
    ("unknown_workspace.csv", ["line 2, workspaces", "no workspace `no-such-workspace`", "company-prod"]),
]
SCRIPTS = [
    ("unknown_privilege.sql", ["statement 2", "unknown privilege 'SELEKT'"]),
    ("quoted_principal.sql", ["statement 1", "a principal goes in backticks, not quotes: `Analysts.NonProd`"]),
    ("unknown_table.sql", ["statement 1", "TABLE datalake.finance.no_such_table does not exist"]),
    ("unknown_principal.sql", ["statement 1", "'nobody.here@company.com'"]),
    ("inapplicable_privilege.sql", ["statement 2", "USE CATALOG is not applicable to TABLE datalake.finance.transactions"]),
    ("not_a_grant.sql", ["statement 1", "DROP statements are not supported"]),
    ("unterminated_comment.sql", ["statement 1", "unterminated /* comment starting on line 1"]),
    ("dash_in_name.sql", ["statement 1", "a name with '-' goes in backticks"]),
    ("no_statement.sql", ["The script holds no statement"]),
]
PLANS = [
    ("unknown_kind.json", ["change 2", "Unknown change kind 'drop_everything'"]),
    ("unknown_group.json", ["step 2 add_to_group", "no group 'No.Such.Group'"]),
    ("missing_field.json", ["step 2 add_to_group", "no group ''"]),
    ("bad_email.json", ["step 1 create_user", "'not an email' is not a valid email address"]),
    ("truncated.json", ["the plan is not JSON (line 1"]),
]
FILTERS = [
    ('userName eq', "the filter ends too early"),
    ('userName zz "a"', "unexpected 'zz' at character 10"),
    ('userName eq "a" xor userName eq "b"', "unexpected 'xor' at character 17"),
    ('userName eq "a"))', "unexpected ')' at character 16"),
    ('(userName eq "a"', "every '(' needs its ')'"),
    ('not (userName eq "a")', "operator is not supported: 'not'"),
    ('emails[type eq "work"]', "value path filters"),
    ('userName gt "a"', "'gt' in 'userName gt \"a\"'"),
    ('userName eq "unterminated', "Unterminated quote|Illegal character in filter query '\"'"),
    (" or ".join(['userName eq "x"'] * 201), "at most 200 nodes"),
    ("(" * 5000 + 'userName eq "a"' + ")" * 5000, "nests brackets 5000 deep"),
]
PATCHES = [
    ({"Operations": [{"op": "explode", "path": "displayName", "value": "x"}]}, "Operations[0].op", "'explode'"),
    ({"Operations": [{"op": "replace", "path": "nosuchattr", "value": "x"}]}, "Operations[0]", "'nosuchattr'"),
    ({"Operations": [{"op": "add", "path": "members", "value": [{"value": "123"}]}]}, "Member 123", "does not exist"),
    ({"Operations": [{"op": "replace", "path": "displayName", "value": 5}]}, "Operations[0]", "'displayName'"),
    ({"Operations": [{"op": "replace", "path": "displayName"}]}, "Operations[0]", "needs a 'value'"),
    ({"Operations": "notalist"}, "'Operations' list", "non-empty"),
    ([1, 2], "JSON object", "'Operations'"),
]
CLI = [
    (["summary", "--rate-scale", "-1"], ["--rate-scale", "'-1' is out of range"]),
    (["summary", "--rate-scale", "nan"], ["--rate-scale", "'nan' is not a finite number"]),
    (["summary", "--connect-timeout", "abc"], ["--connect-timeout", "'abc' is not a number of seconds"]),
    (["summary", "--workspace", "abc=https://x"], ["--workspace", "'abc=https://x' is not ID=URL"]),
    (["summary", "--workspace", "123=https://"], ["workspace 123 has no usable URL"]),
    (["summary", "--workspace", "999=https://adb-999.1.azuredatabricks.net"],
     ["999 is not a workspace of account", "7000000000000001"]),
    (["report", "--fail-on", "bogus", "--out", "{tmp}/r"], ["--fail-on", "invalid choice: 'bogus'"]),
    (["report", "--previous", "{tmp}/none", "--out", "{tmp}/r"], ["--previous", "no such snapshot folder"]),
    (["drift", "--roster", "{tmp}/none.csv"], ["none.csv", "No such file"]),
    (["drift", "--roster", str(DATA / "rosters" / "bad_email.csv")], ["line 3, email", "not-an-email"]),
    (["snapshot"], ["--out"]),
    (["emulator", "--port", "99999"], ["--port", "'99999' is out of range"]),
    (["emulator", "--oauth-token-lifetime", "0"], ["--oauth-token-lifetime", "'0' is out of range"]),
    (["emulator", "--fault", "GET:/x:teapot:1"], ["--fault"]),
    (["nosuchcommand"], ["invalid choice: 'nosuchcommand'"]),
]


def _writes(emu: Emulator) -> int:
    counts = requests.get(f"{emu.host}/_scimkit/stats", timeout=10).json()["requests"]
    return sum(counts.get(c, 0) for c in WRITE_CLASSES)


def _state(emu: Emulator) -> str:
    return requests.get(f"{emu.host}/_scimkit/state", headers={"Authorization": f"Bearer {emu.token}"},
                        timeout=10).json()["sha256"]


@pytest.fixture(scope="module")
def corpus_emu(_sample_emulator: Emulator) -> Emulator:
    _sample_emulator.reset()
    return _sample_emulator


@pytest.fixture(scope="module")
def corpus_account(corpus_emu: Emulator):  # noqa: ANN201 - an Account
    return connect(emulator=corpus_emu, rate_scale=50, retry_timeout_seconds=10)


@pytest.fixture(scope="module")
def corpus_snapshot(corpus_account):  # noqa: ANN001, ANN201 - a Snapshot
    return snapshot(corpus_account, progress=False)


@pytest.fixture
def unchanged(corpus_emu: Emulator) -> Iterator[None]:
    """The emulator's writes and state digest are the same after the test as before it."""
    writes, state = _writes(corpus_emu), _state(corpus_emu)
    yield
    assert _writes(corpus_emu) == writes, "a refused input sent a write"
    assert _state(corpus_emu) == state, "a refused input changed the account"


@pytest.fixture
def state_unchanged(corpus_emu: Emulator) -> Iterator[None]:
    """For refused writes (the PATCH itself is a write request): the account state is unchanged."""
    state = _state(corpus_emu)
    yield
    assert _state(corpus_emu) == state, "a refused PATCH changed the account"


def _assert_names(text: str, expected: list[str]) -> None:
    for part in expected:
        assert part in text, f"{part!r} not in the error: {text}"


@pytest.mark.parametrize(("name", "expected"), ROSTERS, ids=[c[0] for c in ROSTERS])
def test_roster_refused_naming_the_line_and_column(name: str, expected: list[str], corpus_account, corpus_snapshot,
                                                   unchanged: None) -> None:
    with pytest.raises(InvalidInput) as refused:  # the roster is read before any plan is made
        source = read_roster(DATA / "rosters" / name, snapshot=corpus_snapshot, as_of=AS_OF)
        plans.apply(plans.onboarding(source, corpus_snapshot, today=AS_OF), corpus_account, dry_run=False)
    _assert_names(str(refused.value), expected)
    assert "nothing was used" in str(refused.value)


@pytest.mark.parametrize(("name", "expected"), SCRIPTS, ids=[c[0] for c in SCRIPTS])
def test_sql_script_refused_naming_the_statement(name: str, expected: list[str], corpus_account,
                                                 unchanged: None) -> None:
    with pytest.raises(InvalidInput) as refused:
        apply_script(corpus_account, (DATA / "sql" / name).read_text(), dry_run=False)
    _assert_names(str(refused.value), expected)


@pytest.mark.parametrize(("name", "expected"), PLANS, ids=[c[0] for c in PLANS])
def test_plan_file_refused_naming_the_change(name: str, expected: list[str], corpus_account, unchanged: None) -> None:
    with pytest.raises(InvalidInput) as refused:
        plans.apply(plans.Plan.from_json((DATA / "plans" / name).read_text()), corpus_account, dry_run=False)
    _assert_names(str(refused.value), expected)


@pytest.mark.parametrize(("text", "expected"), FILTERS, ids=[f[:30] for f, _ in FILTERS])
@pytest.mark.parametrize("resource", ["Users", "Groups", "ServicePrincipals"])
def test_scim_filter_refused_naming_the_token(text: str, expected: str, resource: str, corpus_emu: Emulator,
                                              unchanged: None) -> None:
    answer = requests.get(f"{corpus_emu.host}/api/2.0/accounts/{corpus_emu.account_id}/scim/v2/{resource}",
                          params={"filter": text}, headers={"Authorization": f"Bearer {corpus_emu.token}"}, timeout=10)
    assert answer.status_code == 400
    body = answer.json()
    assert body["scimType"] == "invalidFilter", body
    assert any(alternative in body["detail"] for alternative in expected.split("|")), body


@pytest.mark.parametrize(("body", "field", "expected"), PATCHES, ids=[str(p[0])[:40] for p in PATCHES])
def test_scim_patch_refused_naming_the_operation(body: object, field: str, expected: str, corpus_emu: Emulator,
                                                 state_unchanged: None) -> None:
    base = f"{corpus_emu.host}/api/2.0/accounts/{corpus_emu.account_id}/scim/v2/Groups"
    headers = {"Authorization": f"Bearer {corpus_emu.token}"}
    group = requests.get(base, params={"filter": 'displayName eq "Analysts.NonProd"'}, headers=headers,
                         timeout=10).json()["Resources"][0]["id"]
    answer = requests.patch(f"{base}/{group}", json=body, headers=headers, timeout=10)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"] and expected in answer.json()["detail"], answer.json()


@pytest.mark.parametrize(("args", "expected"), CLI, ids=[" ".join(a)[:50] for a, _ in CLI])
def test_cli_argument_refused_naming_the_flag(args: list[str], expected: list[str], corpus_emu: Emulator,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], unchanged: None) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", corpus_emu.token)  # were a command to run, it would reach corpus_emu
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if args[0] in ("summary", "report", "drift", "snapshot"):
        args += ["--host", corpus_emu.host, "--account-id", corpus_emu.account_id, "--no-progress"]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse refuses a flag value with exit 2
        code = exit_.code
    assert code == 2
    _assert_names(capsys.readouterr().err, expected)
    assert not list(tmp_path.iterdir()), "a refused command wrote output"


def test_corpus_size() -> None:
    """The figure for the issue's closing note: bad inputs tried by this module."""
    tried = len(ROSTERS) + len(SCRIPTS) + len(PLANS) + 3 * len(FILTERS) + len(PATCHES) + len(CLI)
    print(f"bad inputs tried: {tried}")
    assert tried >= 60
