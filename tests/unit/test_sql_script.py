"""The SQL script parser: statement forms, quoting, defaults, and errors that name the statement."""

from __future__ import annotations

import pytest

from scimkit.catalog import Operation
from scimkit.errors import InvalidInput, ScriptRejected
from scimkit.sql_script import Statement, parse_script

SEED_SCRIPT_1 = (
    "GRANT SELECT ON SCHEMA sales_data TO `DataEngineers.Prod`; GRANT USE CATALOG datalake TO "
    "`DataEngineers.Prod`; GRANT EXECUTE ON VOLUME pipelines TO `DataEngineers.Prod`;"
)
SEED_SCRIPT_2 = "GRANT SELECT ON TABLE finance.transactions TO `Analysts.NonProd`;"


def parse(
    script: str, catalog: str | None = "datalake", schema: str | None = "sales_data"
) -> list[Statement]:
    return parse_script(script, default_catalog=catalog, default_schema=schema)


def one(script: str, **kwargs: str | None) -> Statement:
    statements = parse(script, **kwargs)
    assert len(statements) == 1, statements
    return statements[0]


def rejected(script: str, catalog: str | None = "datalake", schema: str | None = "sales_data") -> list:
    with pytest.raises(ScriptRejected) as info:
        parse_script(script, default_catalog=catalog, default_schema=schema)
    return info.value.problems


# -- the seed document ------------------------------------------------------------------------------


def test_seed_scripts_parse_with_defaults() -> None:
    statements = parse(SEED_SCRIPT_1 + "\n" + SEED_SCRIPT_2)
    assert [
        (s.number, s.kind, s.securable_type, s.full_name, s.principal, s.privileges) for s in statements
    ] == [
        (1, "grant", "SCHEMA", "datalake.sales_data", "DataEngineers.Prod", ("SELECT",)),
        (2, "grant", "CATALOG", "datalake", "DataEngineers.Prod", ("USE_CATALOG",)),
        (3, "grant", "VOLUME", "datalake.sales_data.pipelines", "DataEngineers.Prod", ("EXECUTE",)),
        (4, "grant", "TABLE", "datalake.finance.transactions", "Analysts.NonProd", ("SELECT",)),
    ]
    assert statements[2].text == "GRANT EXECUTE ON VOLUME pipelines TO `DataEngineers.Prod`"
    assert isinstance(statements[0], Operation)


@pytest.mark.parametrize(
    ("script", "securable_type", "privileges"),
    [
        ("GRANT USE CATALOG datalake TO x", "CATALOG", ("USE_CATALOG",)),
        ("GRANT USE SCHEMA finance TO x", "SCHEMA", ("USE_SCHEMA",)),
        ("GRANT READ VOLUME, WRITE VOLUME pipelines TO x", "VOLUME", ("READ_VOLUME", "WRITE_VOLUME")),
        ("GRANT USE CATALOG `data lake` TO x", "CATALOG", ("USE_CATALOG",)),
        ("REVOKE USE SCHEMA datalake.finance FROM x", "SCHEMA", ("USE_SCHEMA",)),
    ],
)
def test_a_privilege_that_implies_its_securable_needs_no_on(
    script: str, securable_type: str, privileges: tuple[str, ...]
) -> None:
    statement = one(script)
    assert (statement.securable_type, statement.privileges) == (securable_type, privileges)


def test_other_privileges_need_on() -> None:
    [(number, text, reason)] = rejected("GRANT SELECT datalake.finance.transactions TO x")
    assert number == 1 and "expected ON <securable>" in reason
    [(_, _, reason)] = rejected("GRANT SELECT, USE CATALOG datalake TO x")
    assert "USE CATALOG, USE SCHEMA, READ VOLUME and WRITE VOLUME" in reason


# -- statement forms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "GRANT SELECT ON TABLE datalake.finance.transactions TO `Analysts.NonProd`",
            ("grant", "TABLE", "datalake.finance.transactions", "Analysts.NonProd", ("SELECT",)),
        ),
        (
            "grant select, modify on table a.b.c to `alex@company.com`",
            ("grant", "TABLE", "a.b.c", "alex@company.com", ("SELECT", "MODIFY")),
        ),
        (
            "GRANT ALL PRIVILEGES ON CATALOG dev TO `account users`",
            ("grant", "CATALOG", "dev", "account users", ("ALL_PRIVILEGES",)),
        ),
        (
            "GRANT all_privileges ON catalog dev TO Engineering",
            ("grant", "CATALOG", "dev", "Engineering", ("ALL_PRIVILEGES",)),
        ),
        (
            "GRANT USE SCHEMA, CREATE TABLE ON DATABASE finance TO x",
            ("grant", "SCHEMA", "datalake.finance", "x", ("USE_SCHEMA", "CREATE_TABLE")),
        ),
        (
            "GRANT SELECT ON VIEW finance.v_monthly TO x",
            ("grant", "TABLE", "datalake.finance.v_monthly", "x", ("SELECT",)),
        ),
        ("GRANT REFRESH ON MATERIALIZED VIEW a.b.mv TO x", ("grant", "TABLE", "a.b.mv", "x", ("REFRESH",))),
        (
            "GRANT SELECT ON transactions TO x",
            ("grant", "TABLE", "datalake.sales_data.transactions", "x", ("SELECT",)),
        ),
        (
            "GRANT EXECUTE ON FUNCTION curated.mask_email TO `5e7b0000-e71b-4000-8000-0000000000e7`",
            (
                "grant",
                "FUNCTION",
                "datalake.curated.mask_email",
                "5e7b0000-e71b-4000-8000-0000000000e7",
                ("EXECUTE",),
            ),
        ),
        (
            "GRANT READ FILES ON EXTERNAL LOCATION `raw-landing` TO x",
            ("grant", "EXTERNAL_LOCATION", "raw-landing", "x", ("READ_FILES",)),
        ),
        (
            "GRANT CREATE EXTERNAL LOCATION ON STORAGE CREDENTIAL company_mi TO x",
            ("grant", "STORAGE_CREDENTIAL", "company_mi", "x", ("CREATE_EXTERNAL_LOCATION",)),
        ),
        (
            "GRANT CREATE CATALOG ON METASTORE TO `Platform.Admins`",
            ("grant", "METASTORE", "", "Platform.Admins", ("CREATE_CATALOG",)),
        ),
        ("GRANT USE CATALOG ON CATALOG TO x", ("grant", "CATALOG", "datalake", "x", ("USE_CATALOG",))),
        (
            "REVOKE SELECT ON SCHEMA prod.crm FROM `old.contractor@company.com`",
            ("revoke", "SCHEMA", "prod.crm", "old.contractor@company.com", ("SELECT",)),
        ),
        (
            "REVOKE ALL PRIVILEGES ON TABLE a.b.c FROM x",
            ("revoke", "TABLE", "a.b.c", "x", ("ALL_PRIVILEGES",)),
        ),
        (
            "ALTER CATALOG datalake OWNER TO `DataEngineers.Prod`",
            ("owner", "CATALOG", "datalake", "DataEngineers.Prod", ()),
        ),
        (
            "alter schema finance set owner to `Finance.Owners`",
            ("owner", "SCHEMA", "datalake.finance", "Finance.Owners", ()),
        ),
        (
            "ALTER TABLE finance.transactions OWNER TO x",
            ("owner", "TABLE", "datalake.finance.transactions", "x", ()),
        ),
        ("ALTER VIEW a.b.v OWNER TO x", ("owner", "TABLE", "a.b.v", "x", ())),
        ("ALTER VOLUME pipelines OWNER TO x", ("owner", "VOLUME", "datalake.sales_data.pipelines", "x", ())),
        ("ALTER FUNCTION a.b.f OWNER TO x", ("owner", "FUNCTION", "a.b.f", "x", ())),
        (
            "ALTER EXTERNAL LOCATION `raw-landing` OWNER TO x",
            ("owner", "EXTERNAL_LOCATION", "raw-landing", "x", ()),
        ),
        ("ALTER STORAGE CREDENTIAL cred SET OWNER TO x", ("owner", "STORAGE_CREDENTIAL", "cred", "x", ())),
    ],
)
def test_statement_forms(script: str, expected: tuple) -> None:
    s = one(script)
    assert (s.kind, s.securable_type, s.full_name, s.principal, s.privileges) == expected


def test_backticks_quote_names_and_principals() -> None:
    s = one("GRANT SELECT ON TABLE `my catalog`.`odd.schema`.`a``b` TO `we``ird name`")
    assert s.full_name == "my catalog.odd.schema.a`b"
    assert s.principal == "we`ird name"


def test_privileges_are_deduplicated_and_normalised() -> None:
    assert one("GRANT select, SELECT, Use_Schema, use schema ON SCHEMA s TO x").privileges == (
        "SELECT",
        "USE_SCHEMA",
    )


# -- separators, comments, numbering ----------------------------------------------------------------


def test_statements_split_on_semicolons_and_on_new_lines_and_may_span_lines() -> None:
    script = """
    -- onboarding for the finance analysts
    GRANT USE CATALOG ON CATALOG datalake TO `Analysts.NonProd`   -- the catalog
    GRANT USE SCHEMA
        ON SCHEMA finance
        TO `Analysts.NonProd`;;
    /* the table */ GRANT SELECT ON TABLE finance.transactions TO `Analysts.NonProd`; ALTER TABLE
      finance.transactions OWNER TO `Finance.Owners`
    """
    statements = parse(script)
    assert [s.number for s in statements] == [1, 2, 3, 4]
    assert [s.kind for s in statements] == ["grant", "grant", "grant", "owner"]
    assert statements[0].text == "GRANT USE CATALOG ON CATALOG datalake TO `Analysts.NonProd`"
    assert statements[1].text == "GRANT USE SCHEMA ON SCHEMA finance TO `Analysts.NonProd`"
    assert statements[3].full_name == "datalake.finance.transactions"


def test_keywords_inside_backticks_do_not_split() -> None:
    s = one("GRANT SELECT ON TABLE a.b.`grant` TO `revoke;alter`")
    assert s.full_name == "a.b.grant" and s.principal == "revoke;alter"


def test_an_empty_script_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="no statement"):
        parse_script("  ;; -- nothing\n")


# -- defaults ------------------------------------------------------------------------------------------


def test_full_names_need_no_defaults() -> None:
    assert one("GRANT SELECT ON TABLE a.b.c TO x", catalog=None, schema=None).full_name == "a.b.c"


@pytest.mark.parametrize(
    ("script", "catalog", "schema", "needs"),
    [
        ("GRANT USE SCHEMA ON SCHEMA finance TO x", None, None, "needs a catalog"),
        ("GRANT SELECT ON TABLE t TO x", "datalake", None, "needs a catalog and a schema"),
        ("GRANT SELECT ON TABLE s.t TO x", None, "sales_data", "needs a catalog"),
        ("GRANT USE CATALOG ON CATALOG TO x", None, None, "CATALOG without a name needs default_catalog"),
    ],
)
def test_missing_defaults_are_named(script: str, catalog: str | None, schema: str | None, needs: str) -> None:
    [(number, text, reason)] = rejected(script, catalog, schema)
    assert number == 1 and text == script and needs in reason


def test_too_many_name_parts() -> None:
    [(_, _, reason)] = rejected("GRANT USE CATALOG ON CATALOG a.b TO x")
    assert "has 2 parts; expected at most 1" in reason


# -- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("GRANT SELEKT ON TABLE a.b.c TO x", "unknown privilege 'SELEKT'"),
        ("GRANT READ DATA ON TABLE a.b.c TO x", "unknown privilege 'READ DATA'"),
        ("GRANT SELECT ON TABLE a.b.c TO alex@company.com", "goes in backticks: `alex@company.com`"),
        ("GRANT SELECT ON TABLE a.b.c TO DataEngineers.Prod", "goes in backticks: `DataEngineers.Prod`"),
        ("GRANT SELECT ON TABLE a.b.c TO account users", "goes in backticks: `account users`"),
        ("GRANT SELECT ON TABLE a.b.c TO 'x'", "in backticks, not quotes"),
        ("GRANT SELECT ON TABLE a.b.c", "expected TO but found the end of the statement"),
        ("GRANT SELECT ON TABLE a.b.c TO", "expected a principal but found nothing"),
        ("GRANT SELECT ON TABLE a.b.c TO x y", "goes in backticks: `x y`"),
        ("GRANT SELECT ON TABLE a.b.c TO `x` extra", "unexpected 'extra' after the principal"),
        ("GRANT SELECT ON TABLE a.b.c FROM x", "expected TO"),
        ("REVOKE SELECT ON TABLE a.b.c TO x", "expected FROM"),
        ("GRANT ON TABLE a.b.c TO x", "expected a privilege but found 'ON'"),
        ("GRANT SELECT, ON TABLE a.b.c TO x", "expected a privilege but found 'ON'"),
        ("GRANT SELECT ON CONNECTION c TO x", "CONNECTION are not supported"),
        ("GRANT SELECT ON SHARE s TO x", "SHARE are not supported"),
        ("GRANT READ FILES ON EXTERNAL LOCATION raw-landing TO x", "a name with '-' goes in backticks"),
        ("GRANT SELECT ON TABLE `a.b.c TO x", "unterminated ` quote"),
        ("ALTER TABLE a.b.c RENAME TO d", "only ALTER ... OWNER TO <principal> is supported"),
        ("ALTER GROUP g ADD USER u", "expected a securable"),
        ("ALTER METASTORE OWNER TO x", "ALTER METASTORE is not supported"),
        ("DENY SELECT ON TABLE a.b.c TO x", "DENY statements are not supported"),
        ("SHOW GRANTS ON TABLE a.b.c", "SHOW statements are not supported"),
        ("SELECT * FROM a.b.c", "starts with GRANT, REVOKE or ALTER"),
        ("GRANT SELECT ON TABLE `` TO x", "empty name"),
        ("GRANT SELECT ON TABLE a.b.c TO ``", "empty principal"),
    ],
)
def test_errors_name_the_statement_and_the_reason(script: str, reason: str) -> None:
    [(number, text, found)] = rejected(script)
    assert number == 1
    assert text == " ".join(script.split())
    assert reason in found


def test_every_bad_statement_is_named_at_once() -> None:
    script = (
        "GRANT SELECT ON TABLE a.b.c TO x; GRANT SELEKT ON TABLE a.b.c TO x;\n"
        "GRANT SELECT ON TABLE a.b.c TO y\nREVOKE SELECT ON TABLE a.b.c TO z"
    )
    with pytest.raises(ScriptRejected) as info:
        parse_script(script)
    assert [n for n, _, _ in info.value.problems] == [2, 4]
    message = str(info.value)
    assert "nothing was applied" in message
    assert "statement 2 `GRANT SELEKT ON TABLE a.b.c TO x`" in message
    assert "statement 4 `REVOKE SELECT ON TABLE a.b.c TO z`" in message


def test_script_rejected_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_script("GRANT NOTHING ON TABLE a.b.c TO x")


@pytest.mark.parametrize("opener, script", [
    ("/*", "GRANT SELECT ON TABLE a.b.c TO x; /* never closed " + "/* a;" * 200_000),
    ("`", "GRANT SELECT ON TABLE `a.b.c TO x;" + " `y" * 100),
    ("'", "GRANT SELECT ON TABLE a.b.c TO 'x;"),
])
def test_an_unterminated_comment_or_quote_is_refused_naming_it(opener: str, script: str) -> None:
    with pytest.raises(ScriptRejected) as excinfo:
        parse_script(script)
    message = str(excinfo.value)
    assert f"unterminated {opener} {'comment' if opener == '/*' else 'quote'} starting on line 1" in message
    assert len(message) < 1_000  # a 1 MB script still gives a short error


def test_many_bad_statements_give_a_short_message_with_the_count() -> None:
    with pytest.raises(ScriptRejected) as excinfo:
        parse_script("GRANT SELECT ON t TO x\n" * 10_000)
    assert len(excinfo.value.problems) == 10_000
    message = str(excinfo.value)
    assert len(message) < 2_000
    assert "and 9995 more problem(s)" in message


@pytest.mark.parametrize("script, where", [
    ("GRANT SELECT ON TABLE a.b." + "t" * 1_000_000 + " TO x", "a table name part of 1000000 characters"),
    ("GRANT USE CATALOG ON CATALOG `" + "c" * 1_000_000 + "` TO x", "a catalog name part of 1000000 characters"),
    ("GRANT SELECT ON TABLE a.b.c TO `" + "p" * 1_000_000 + "`", "a principal of 1000000 characters"),
])
def test_a_1_mb_identifier_is_refused_naming_the_statement_before_anything_is_sent(script: str, where: str) -> None:
    from scimkit.sql_script import apply_script

    with pytest.raises(ScriptRejected) as excinfo:
        apply_script(None, "GRANT SELECT ON TABLE a.b.c TO `ok`;\n" + script)  # type: ignore[arg-type]
    (number, text, reason), = excinfo.value.problems
    assert number == 2 and text.startswith("GRANT ") and where in reason and "at most 255 characters" in reason
    assert len(str(excinfo.value)) < 1_000
    assert parse_script("GRANT SELECT ON TABLE a.b." + "t" * 255 + " TO x")[0].full_name.endswith("t" * 255)


@pytest.mark.parametrize("script, word", [
    ("GRANT SELECT ON WAREHOUSE wh TO x", "WAREHOUSE"),
    ("GRANT SELECT ON SQL WAREHOUSE `my wh` TO x", "SQL WAREHOUSE"),
    ("GRANT MODIFY ON CLUSTER `0101-abc` TO `a@b.com`", "CLUSTER"),
    ("REVOKE SELECT ON JOB nightly FROM x", "JOB"),
    ("GRANT SELECT ON INSTANCE POOL p TO x", "INSTANCE POOL"),
    ("ALTER WAREHOUSE wh OWNER TO x", "WAREHOUSE"),
    ("ALTER JOB nightly SET OWNER TO x", "JOB"),
])
def test_a_workspace_object_is_named_as_not_taking_unity_catalog_grants(script: str, word: str) -> None:
    with pytest.raises(ScriptRejected) as excinfo:
        parse_script(script)
    (_, _, reason), = excinfo.value.problems
    assert reason.startswith(f"{word} is not a securable that takes Unity Catalog grants")
    assert "Permissions API" in reason and "name" not in reason.split(":")[0]


def test_a_table_called_like_a_workspace_object_is_still_a_table() -> None:
    job, = parse_script("GRANT SELECT ON job TO x", default_catalog="c", default_schema="s")
    assert (job.securable_type, job.full_name) == ("TABLE", "c.s.job")
    cluster, = parse_script("GRANT SELECT ON TABLE cluster TO x", default_catalog="c", default_schema="s")
    assert cluster.full_name == "c.s.cluster"
