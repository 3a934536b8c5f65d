"""SQL scripts of GRANT, REVOKE and ALTER ... OWNER TO statements: parsed into typed statements,
validated as a whole, then applied idempotently (`databricks-api.md` 4.4 and 7.4).

    GRANT <privileges> ON <securable> TO <principal>
    REVOKE <privileges> ON <securable> FROM <principal>
    ALTER <securable> [SET] OWNER TO <principal>

    <privileges>  SELECT, USE CATALOG, ALL PRIVILEGES, READ VOLUME, ... (spaces or underscores, any case)
    <securable>   CATALOG [name] | SCHEMA name | DATABASE name | [TABLE] name | VIEW name | VOLUME name
                  | FUNCTION name | EXTERNAL LOCATION name | STORAGE CREDENTIAL name | METASTORE
    <principal>   `alex@company.com` | `DataEngineers.Prod` | `<applicationId>` | `account users` | plain_name

Statements end with `;`; a GRANT, REVOKE or ALTER at the start of a line also starts a new one, so
a statement may span lines. `--` and `/* */` are comments. Identifiers and principals may be
quoted in backticks (a doubled backtick is a literal one); a principal with anything but letters,
digits and underscores must be. Names are completed with the default catalog and schema:
`sales_data` on a SCHEMA is `<catalog>.sales_data`, `pipelines` on a VOLUME is
`<catalog>.<schema>.pipelines`, `finance.transactions` on a TABLE is `<catalog>.finance.transactions`.

Names and principals longer than 255 characters (Unity Catalog's limit) are refused, as are
workspace objects (`ON WAREHOUSE`, `CLUSTER`, `JOB`, ...), which take no Unity Catalog grants: both
as `ScriptRejected` naming the statement, before anything is sent.

One extension to Databricks SQL, for the seed document: `GRANT USE CATALOG datalake TO ...`
(no `ON`) names the securable the privilege implies: USE CATALOG a catalog, USE SCHEMA a schema,
READ VOLUME and WRITE VOLUME a volume.

The parser is hand-written over a small regex tokenizer: the grammar is this small, and a general
SQL parser (sqlglot) does not know Unity Catalog's privilege and securable words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalog import PRIVILEGE_NAMES, CatalogEditor, Operation
from .connect import Account
from .errors import InvalidInput, ScriptRejected
from .identities import Change

# -- statements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement(Operation):
    """One parsed statement: kind grant, revoke or owner; `full_name` completed with the defaults
    (empty for the METASTORE); privileges UPPER_SNAKE; `number` 1-based; `text` as written."""

    number: int = 0
    text: str = ""


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<quoted>`(?:[^`]|``)*`)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<word>[A-Za-z0-9_]+)
  | (?P<punct>[.,;])
  | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)
_STARTERS = {"GRANT", "REVOKE", "ALTER"}
# "Object names cannot exceed 255 characters" (Databricks SQL reference, Names); group display
# names are at most 255 too (databricks-api.md 1.3). Longer ones are refused before anything is sent.
MAX_NAME = 255
# Workspace objects: their permissions are set through the Permissions API, never with GRANT.
_NOT_UNITY_CATALOG = {
    ("WAREHOUSE",): "SQL warehouse", ("SQL", "WAREHOUSE"): "SQL warehouse", ("ENDPOINT",): "SQL warehouse",
    ("CLUSTER",): "cluster", ("INSTANCE", "POOL"): "instance pool", ("POOL",): "instance pool",
    ("CLUSTER", "POLICY"): "cluster policy", ("JOB",): "job", ("PIPELINE",): "pipeline",
    ("NOTEBOOK",): "notebook", ("DIRECTORY",): "workspace folder", ("FOLDER",): "workspace folder",
    ("REPO",): "repo", ("FILE",): "workspace file", ("EXPERIMENT",): "MLflow experiment",
    ("DASHBOARD",): "dashboard", ("QUERY",): "query", ("ALERT",): "alert",
    ("SERVING", "ENDPOINT"): "serving endpoint", ("SECRET", "SCOPE"): "secret scope", ("SECRET",): "secret scope",
    ("TOKEN",): "token", ("APP",): "app", ("WORKSPACE",): "workspace",
}
_CLOSERS = {"/*": "*/", "`": "`", "'": "'", '"': '"'}
_OPENERS = {"`", "'", '"'}


@dataclass(frozen=True)
class _Token:
    kind: str  # word, quoted, string, punct, other, end
    text: str  # as written
    start: int
    line_start: bool = False  # first token on its line

    @property
    def value(self) -> str:
        """An identifier's value: backticks removed (a doubled backtick is a literal one)."""
        if self.kind == "quoted":
            return self.text[1:-1].replace("``", "`")
        return self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


class _ParseError(Exception):
    pass


def _split(script: str) -> list[tuple[list[_Token], str]]:
    """Statements as (tokens, text as written with whitespace collapsed)."""
    statements: list[tuple[list[_Token], str]] = []
    current: list[_Token] = []
    at_line_start = True
    position = 0
    while position < len(script):
        match = _TOKEN.match(script, position)
        assert match is not None  # `other` matches any non-space character
        kind = match.lastgroup or "other"
        text = match.group()
        if kind == "other" and (text in _OPENERS or script.startswith("/*", position)):
            # The closed form did not match, so nothing closes it: refuse now. Going on would
            # rescan the rest of the script from every later opener (quadratic in its size).
            opener = "/*" if script.startswith("/*", position) else text
            line = script.count("\n", 0, position) + 1
            start = current[0].start if current else position
            snippet = " ".join(re.sub(r"--[^\n]*", " ", script[start:]).split())  # the statement as written
            raise ScriptRejected([(len(statements) + 1, snippet,
                                   f"unterminated {opener} {'comment' if opener == '/*' else 'quote'} starting on "
                                   f"line {line}: close it with {_CLOSERS[opener]}")])
        if kind in ("space", "comment"):
            if "\n" in text or kind == "comment" and text.startswith("--"):
                at_line_start = True
            position = match.end()
            continue
        token = _Token(kind, text, match.start(), at_line_start)
        at_line_start = False
        position = match.end()
        if token.kind == "punct" and text == ";":
            if current:
                statements.append((current, _text(script, current, token.start)))
            current = []
            continue
        if current and token.line_start and token.is_word(*_STARTERS):
            statements.append((current, _text(script, current, token.start)))
            current = []
        current.append(token)
    if current:
        statements.append((current, _text(script, current, len(script))))
    return statements


def _text(script: str, tokens: list[_Token], end: int) -> str:
    raw = script[tokens[0].start : end]
    raw = re.sub(r"--[^\n]*", " ", raw)  # a trailing comment is not part of the statement
    return " ".join(raw.split())


class _Parser:
    def __init__(self, tokens: list[_Token], default_catalog: str | None, default_schema: str | None) -> None:
        self.tokens = tokens
        self.index = 0
        self.default_catalog = default_catalog
        self.default_schema = default_schema

    # -- cursor --------------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Token:
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else _Token("end", "", -1)

    def take(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def expect_word(self, *words: str) -> _Token:
        token = self.peek()
        if not token.is_word(*words):
            raise _ParseError(f"expected {' or '.join(words)} but found {_shown(token)}")
        return self.take()

    def expect_end(self, after: str) -> None:
        token = self.peek()
        if token.kind != "end":
            raise _ParseError(f"unexpected {_shown(token)} after {after}")

    # -- grammar -------------------------------------------------------------------------------------
    def statement(self) -> tuple[str, str, str, str, tuple[str, ...]]:
        first = self.peek()
        if first.is_word("GRANT", "REVOKE"):
            return self.grant_or_revoke()
        if first.is_word("ALTER"):
            return self.alter()
        if first.is_word("DENY", "SHOW", "CREATE", "DROP", "USE", "SET"):
            raise _ParseError(
                f"{first.text.upper()} statements are not supported; a script holds GRANT, REVOKE "
                "and ALTER ... OWNER TO statements"
            )
        raise _ParseError(f"a statement starts with GRANT, REVOKE or ALTER, not {_shown(first)}")

    def grant_or_revoke(self) -> tuple[str, str, str, str, tuple[str, ...]]:
        verb = self.take().text.upper()
        link = "TO" if verb == "GRANT" else "FROM"
        privileges, implied_at = self.privileges(link)
        if implied_at is not None:
            securable_type = _implied_type(privileges)
            full_name = self.name(securable_type)
        else:
            if not self.peek().is_word("ON"):
                raise _ParseError(
                    f"expected ON <securable> after the privileges, found {_shown(self.peek())}"
                )
            self.take()
            securable_type, full_name = self.securable(link)
        self.expect_word(link)
        principal = self.principal()
        self.expect_end("the principal")
        return verb.lower(), securable_type, full_name, principal, privileges

    def privileges(self, link: str) -> tuple[tuple[str, ...], int | None]:
        """The privilege list; the second value is set when the securable follows without ON."""
        found: list[str] = []
        while True:
            start = self.index
            words: list[_Token] = []
            while self.peek().kind == "word" and not self.peek().is_word("ON", link):
                words.append(self.take())
            if not words:
                raise _ParseError(f"expected a privilege but found {_shown(self.peek())}")
            joined = [w.text.upper() for w in words]
            for cut in range(len(joined), 0, -1):
                if "_".join(joined[:cut]) in PRIVILEGE_NAMES:
                    break
            else:
                raise _ParseError(f"unknown privilege '{' '.join(w.text for w in words)}'")
            found.append("_".join(joined[:cut]))
            if cut < len(words) or self.peek().kind == "quoted":
                # `GRANT USE CATALOG datalake TO ...`: the securable's name follows the privilege.
                self.index = start + cut
                return tuple(dict.fromkeys(found)), self.index
            if self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                continue
            return tuple(dict.fromkeys(found)), None

    def securable(self, link: str, bare_table: bool = True) -> tuple[str, str]:
        token = self.peek()
        if token.is_word("CATALOG"):
            self.take()
            if self.peek().is_word(link):  # `ON CATALOG TO x`: the current catalog
                if not self.default_catalog:
                    raise _ParseError(
                        "CATALOG without a name needs default_catalog: write the catalog's name"
                    )
                return "CATALOG", self.default_catalog
            return "CATALOG", self.name("CATALOG")
        if token.is_word("SCHEMA", "DATABASE"):
            self.take()
            return "SCHEMA", self.name("SCHEMA")
        if token.is_word("MATERIALIZED") and self.peek(1).is_word("VIEW"):
            self.index += 2
            return "TABLE", self.name("TABLE")
        if token.is_word("TABLE", "VIEW"):
            self.take()
            return "TABLE", self.name("TABLE")
        if token.is_word("VOLUME", "FUNCTION"):
            self.take()
            return token.text.upper(), self.name(token.text.upper())
        if token.is_word("EXTERNAL") and self.peek(1).is_word("LOCATION"):
            self.index += 2
            return "EXTERNAL_LOCATION", self.name("EXTERNAL_LOCATION")
        if token.is_word("STORAGE") and self.peek(1).is_word("CREDENTIAL"):
            self.index += 2
            return "STORAGE_CREDENTIAL", self.name("STORAGE_CREDENTIAL")
        if token.is_word("METASTORE"):
            self.take()
            return "METASTORE", ""
        for words in sorted(_NOT_UNITY_CATALOG, key=len, reverse=True):
            if all(self.peek(i).is_word(w) for i, w in enumerate(words)) and (
                    self.peek(len(words)).kind in ("word", "quoted") and not self.peek(len(words)).is_word(link)):
                noun = _NOT_UNITY_CATALOG[words]
                raise _ParseError(
                    f"{' '.join(words)} is not a securable that takes Unity Catalog grants: a {noun}'s "
                    "permissions are set in its workspace (the Permissions API or its Permissions dialog), not "
                    "with GRANT; a script manages catalogs, schemas, tables, views, volumes, functions, external "
                    "locations, storage credentials and the metastore"
                )
        if token.is_word(
            "CONNECTION",
            "SHARE",
            "RECIPIENT",
            "PROVIDER",
            "MODEL",
            "ANY",
            "ANONYMOUS",
            "CLEAN",
            "SERVICE",
            "CREDENTIAL",
        ):
            raise _ParseError(
                f"securables of type {token.text.upper()} are not supported; scimkit manages "
                "catalogs, schemas, tables, views, volumes, functions, external locations, storage "
                "credentials and the metastore"
            )
        if bare_table and token.kind in ("word", "quoted") and not token.is_word(link):
            return "TABLE", self.name("TABLE")  # `ON name`: TABLE is optional in Databricks SQL
        raise _ParseError(
            f"expected a securable (CATALOG, SCHEMA, TABLE, VIEW, VOLUME, FUNCTION, EXTERNAL LOCATION, "
            f"STORAGE CREDENTIAL{', METASTORE' if bare_table else ''}) but found {_shown(token)}"
        )

    def alter(self) -> tuple[str, str, str, str, tuple[str, ...]]:
        self.take()
        securable_type, full_name = self.securable("OWNER", bare_table=False)
        if securable_type == "METASTORE":
            raise _ParseError(
                "ALTER METASTORE is not supported; change the metastore admin in the account console"
            )
        if self.peek().is_word("SET"):
            self.take()
        if not self.peek().is_word("OWNER"):
            raise _ParseError(
                f"only ALTER ... OWNER TO <principal> is supported, found {_shown(self.peek())}"
            )
        self.take()
        self.expect_word("TO")
        principal = self.principal()
        self.expect_end("the principal")
        return "owner", securable_type, full_name, principal, ()

    def name(self, securable_type: str) -> str:
        parts: list[str] = []
        while True:
            token = self.peek()
            if token.kind not in ("word", "quoted"):
                shown = "nothing" if token.kind == "end" else _shown(token)
                hint = (
                    " (names with other characters go in backticks)"
                    if token.kind == "other" and token.text not in "`'\""
                    else ""
                )
                raise _ParseError(f"expected the {_noun(securable_type)}'s name but found {shown}{hint}")
            if not token.value:
                raise _ParseError("an empty name (``) is not a name")
            if len(token.value) > MAX_NAME:
                raise _ParseError(f"a {_noun(securable_type)} name part of {len(token.value)} characters "
                                  f"('{token.value[:20]}...'); Unity Catalog names are at most {MAX_NAME} characters")
            parts.append(self.take().value)
            if self.peek().kind == "punct" and self.peek().text == ".":
                self.take()
                continue
            if self.peek().kind == "other" and self.peek().text == "-":
                raise _ParseError(f"a name with '-' goes in backticks, e.g. `{parts[-1]}-...`")
            return self.complete(securable_type, parts)

    def complete(self, securable_type: str, parts: list[str]) -> str:
        wanted = {"CATALOG": 1, "SCHEMA": 2, "TABLE": 3, "VOLUME": 3, "FUNCTION": 3}.get(securable_type, 1)
        written = ".".join(_quote_part(p) for p in parts)
        if len(parts) > wanted:
            raise _ParseError(
                f"{_noun(securable_type)} name '{written}' has {len(parts)} parts; expected at most {wanted}"
            )
        missing = wanted - len(parts)
        prefix: list[str] = []
        if missing >= 2:
            if not self.default_catalog or not self.default_schema:
                raise _ParseError(
                    f"{_noun(securable_type)} '{written}' needs a catalog and a schema: write "
                    "catalog.schema.name, or give default_catalog and default_schema"
                )
            prefix = [self.default_catalog, self.default_schema]
        elif missing == 1:
            if not self.default_catalog:
                raise _ParseError(
                    f"{_noun(securable_type)} '{written}' needs a catalog: write "
                    f"catalog.{written}, or give default_catalog"
                )
            prefix = [self.default_catalog]
        return ".".join(prefix + parts)

    def principal(self) -> str:
        token = self.peek()
        if token.kind == "string":
            raise _ParseError(f"a principal goes in backticks, not quotes: `{token.text[1:-1]}`")
        if token.kind not in ("word", "quoted"):
            shown = "nothing" if token.kind == "end" else _shown(token)
            raise _ParseError(f"expected a principal but found {shown}")
        self.take()
        following = self.peek()
        if token.kind == "word" and (
            following.kind == "other"
            or (following.kind == "punct" and following.text == ".")
            or following.kind == "word"
        ):
            rest = [token.text]
            while self.peek().kind != "end":
                rest.append(self.take().text)
            raw = "".join(rest) if following.kind != "word" else " ".join(rest)
            raise _ParseError(
                f"a principal with characters other than letters, digits and '_' goes in backticks: `{raw}`"
            )
        if not token.value.strip():
            raise _ParseError("an empty principal (``) is not a principal")
        if len(token.value) > MAX_NAME:
            raise _ParseError(f"a principal of {len(token.value)} characters ('{token.value[:20]}...'); user, group "
                              f"and service principal names are at most {MAX_NAME} characters")
        return token.value


def _quote_part(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_]+", part) else "`" + part.replace("`", "``") + "`"


def _noun(securable_type: str) -> str:
    return securable_type.lower().replace("_", " ")


def _shown(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the statement"
    if token.kind == "other" and token.text in "`'\"":
        return f"an unterminated {token.text} quote"
    return f"'{token.text}'"


_IMPLIED = {
    "USE_CATALOG": "CATALOG",
    "USE_SCHEMA": "SCHEMA",
    "READ_VOLUME": "VOLUME",
    "WRITE_VOLUME": "VOLUME",
}


def _implied_type(privileges: tuple[str, ...]) -> str:
    types = {_IMPLIED.get(p) for p in privileges}
    if len(types) != 1 or None in types:
        raise _ParseError(
            "expected ON <securable> after the privileges (only USE CATALOG, USE SCHEMA, READ VOLUME "
            "and WRITE VOLUME may name their securable without ON)"
        )
    return types.pop() or ""


def parse_script(
    script: str, default_catalog: str | None = None, default_schema: str | None = None
) -> list[Statement]:
    """Parse every statement; raise ScriptRejected naming each one that does not parse."""
    if not isinstance(script, str):
        raise InvalidInput("A script is a string of SQL statements.", field="script", value=script)
    statements: list[Statement] = []
    problems: list[tuple[int, str, str]] = []
    for number, (tokens, text) in enumerate(_split(script), start=1):
        try:
            kind, securable_type, full_name, principal, privileges = _Parser(
                tokens, default_catalog, default_schema
            ).statement()
        except _ParseError as exc:
            problems.append((number, text, str(exc)))
            continue
        statements.append(Statement(kind, securable_type, full_name, principal, privileges, number, text))
    if problems:
        raise ScriptRejected(problems)
    if not statements:
        raise InvalidInput(
            "The script holds no statement.",
            field="script",
            value=script,
            fix="write GRANT, REVOKE or ALTER ... OWNER TO statements separated by ';'",
        )
    return statements


def apply_script(
    account: Account,
    script: str,
    default_catalog: str | None = None,
    default_schema: str | None = None,
    workspace_id: int | None = None,
    dry_run: bool = False,
) -> list[Change]:
    """Parse, validate every statement (securable exists, principal exists, privileges apply), and
    only when all are valid apply them in order, sending only what differs. One invalid statement
    refuses the whole script (ScriptRejected naming each problem) with nothing applied.
    `dry_run=True` returns the planned changes ("would: ...") without writing.

    >>> apply_script(account, "GRANT SELECT ON TABLE finance.transactions TO `Analysts.NonProd`",
    ...              default_catalog="datalake", default_schema="sales_data")
    """
    statements = parse_script(script, default_catalog, default_schema)
    editor = CatalogEditor(account, workspace_id)
    planned, problems = editor.plan(statements)
    if problems:
        raise ScriptRejected([(statements[i].number, statements[i].text, str(exc)) for i, exc in problems])
    return editor.apply(planned, dry_run)
