"""Generate `sample_data/`: the fictional company `company.com` as an emulator seed (format version 1).

    python scripts/generate_sample_data.py [--out DIR]

Deterministic: one `random.Random(RANDOM_SEED)`, fixed ids, no clock and no `uuid4()`, so running it
again gives the same bytes (tests/unit/test_sample_data.py checks that). See docs/seed-format.md for
the files and `manifest.json` "planted" for the compliance problems planted on purpose.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import uuid
from pathlib import Path
from typing import Any

RANDOM_SEED = 20261129
DOMAIN = "company.com"
GENERATOR = "scripts/generate_sample_data.py"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "sample_data"

USER_ID_BASE = 1_000_000_000_000_000
GROUP_ID_BASE = 2_000_000_000_000_000
SP_ID_BASE = 3_000_000_000_000_000
WORKSPACE_ID_BASE = 7_000_000_000_000_000

FILES = {
    "users": "users.json",
    "service_principals": "service_principals.json",
    "groups": "groups.json",
    "metastores": "metastores.json",
    "workspaces": "workspaces.json",
    "unity_catalog": "unity_catalog.json",
    "grants": "grants.json",
}

FIRST_NAMES = [
    "Aaron", "Adele", "Ahmed", "Aisha", "Amelie", "Ana", "Andrea", "Anton", "Astrid", "Ben",
    "Bianca", "Bruno", "Carla", "Carlos", "Chen", "Chloe", "Clara", "Daniel", "Dara", "David",
    "Elena", "Elif", "Emil", "Emma", "Erik", "Fatima", "Felix", "Fiona", "Gabriel", "Greta",
    "Hana", "Hannah", "Hugo", "Ines", "Ivan", "Jakob", "Jan", "Javier", "Julia", "Kai",
    "Karin", "Kenji", "Lars", "Laura", "Leon", "Lina", "Luca", "Maja", "Marco", "Maria",
    "Mateo", "Mei", "Mia", "Mikael", "Nadia", "Nico", "Nina", "Noah", "Nora", "Olga",
    "Omar", "Oscar", "Paula", "Pedro", "Priya", "Rafael", "Rahul", "Rosa", "Ruth", "Sami",
    "Sara", "Sofia", "Stefan", "Tariq", "Tessa", "Theo", "Tobias", "Umar", "Vera", "Viktor",
    "Wei", "Yara", "Yusuf", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Andersen", "Bauer", "Becker", "Bergstrom", "Bianchi", "Brandt", "Costa", "Dahl", "Dubois", "Eriksen",
    "Fischer", "Fontaine", "Garcia", "Gomez", "Hansen", "Hartmann", "Huber", "Ibrahim", "Jansen", "Jensen",
    "Kaya", "Keller", "Khan", "Klein", "Kowalski", "Larsen", "Laurent", "Lehmann", "Lopez", "Marino",
    "Martin", "Meyer", "Moreau", "Muller", "Nagy", "Nielsen", "Novak", "Olsen", "Ortiz", "Peeters",
    "Petersen", "Popescu", "Ricci", "Romano", "Rossi", "Santos", "Schmidt", "Schulz", "Silva", "Singh",
    "Sorensen", "Svensson", "Tanaka", "Torres", "Vogel", "Wagner", "Weber", "Wolf", "Yilmaz", "Zimmermann",
]  # fmt: skip

# (displayName, provisioned by the identity provider, parent groups). Order fixes the group ids.
# Nesting (parent contains child) reaches depth 4 along
# Employees > Engineering > Data.Platform > DataEngineers.Prod > DataEngineers.Oncall.
GROUPS: list[tuple[str, bool, list[str]]] = [
    ("Employees", True, []),
    ("Engineering", True, ["Employees"]),
    ("Data.Platform", False, ["Engineering"]),
    ("DataEngineers.Prod", False, ["Data.Platform"]),
    ("DataEngineers.NonProd", False, ["Data.Platform"]),
    ("DataEngineers.Oncall", False, ["DataEngineers.Prod"]),
    ("Platform.Admins", True, ["Engineering", "Workspace.Admins"]),
    ("Platform.Engineers", False, ["Engineering"]),
    ("ML.Engineers", True, ["Engineering"]),
    ("ML.Researchers", False, ["ML.Engineers"]),
    ("Software.Backend", True, ["Engineering"]),
    ("Software.Frontend", True, ["Engineering"]),
    ("QA", False, ["Engineering"]),
    ("Analytics", True, ["Employees"]),
    ("Analysts.Prod", False, ["Analytics"]),
    ("Analysts.NonProd", False, ["Analytics"]),
    ("Analysts.Finance", False, ["Analysts.Prod"]),
    ("BI.Developers", False, ["Analytics"]),
    ("Finance", True, ["Employees"]),
    ("Finance.Readers", False, ["Finance"]),
    ("Finance.Controllers", True, ["Finance"]),
    ("Finance.Payroll", False, ["Finance.Controllers"]),
    ("Sales", True, ["Employees"]),
    ("Sales.EMEA", True, ["Sales"]),
    ("Sales.Americas", True, ["Sales"]),
    ("Sales.APAC", True, ["Sales"]),
    ("Sales.Ops", False, ["Sales"]),
    ("Marketing", True, ["Employees"]),
    ("Marketing.Analytics", False, ["Marketing"]),
    ("Marketing.Interns", False, ["Marketing"]),
    ("HR", True, ["Employees"]),
    ("HR.Partners", True, ["HR"]),
    ("HR.Analytics", False, ["HR"]),
    ("Security", True, ["Employees"]),
    ("Security.Auditors", False, ["Security"]),
    ("Security.Engineers", False, ["Security"]),
    ("Legal", True, ["Employees"]),
    ("Customer.Success", True, ["Employees"]),
    ("Executives", True, []),
    ("Contractors", False, []),
    ("Contractors.DataOps", False, ["Contractors"]),
    ("Data.Stewards", False, []),
    ("Workspace.Admins", False, []),
    ("Service.Accounts", False, []),
    ("Legacy.Reporting", False, []),
]

# People per group (their primary group). Sums to the number of generated people in groups.
QUOTAS: list[tuple[str, int]] = [
    ("DataEngineers.Prod", 16), ("DataEngineers.Oncall", 5), ("DataEngineers.NonProd", 14),
    ("Platform.Admins", 4), ("Platform.Engineers", 8), ("ML.Engineers", 9), ("ML.Researchers", 5),
    ("Software.Backend", 26), ("Software.Frontend", 18), ("QA", 8),
    ("Analysts.Prod", 14), ("Analysts.NonProd", 12), ("BI.Developers", 7), ("Analysts.Finance", 5),
    ("Finance.Readers", 9), ("Finance.Controllers", 6), ("Finance.Payroll", 4),
    ("Sales.EMEA", 16), ("Sales.Americas", 17), ("Sales.APAC", 9), ("Sales.Ops", 6),
    ("Marketing", 9), ("Marketing.Analytics", 6), ("Marketing.Interns", 4),
    ("HR.Partners", 7), ("HR.Analytics", 3), ("Security.Auditors", 4), ("Security.Engineers", 5),
    ("Legal", 5), ("Customer.Success", 14), ("Executives", 5), ("Contractors", 4), ("Contractors.DataOps", 3),
]  # fmt: skip
CONSOLE_CREATED_GROUPS = {"Contractors", "Contractors.DataOps"}  # their people carry no externalId
DEACTIVATED_NO_GROUP = 9
DEACTIVATED_IN_GROUPS = ["Sales.EMEA", "Software.Backend", "Finance.Readers"]  # still members (planted)
ACTIVE_NO_GROUP = 2
SPECIAL_USERS = [  # short usernames used verbatim by the seed example
    ("alex", "Alex", "Morgan", "Marketing"),
    ("jaya", "Jaya", "Raman", "Marketing.Analytics"),
]
SERVICE_PRINCIPALS = [
    ("etl-prod-runner", ["Service.Accounts"]),
    ("bi-refresh", ["Service.Accounts"]),
    ("ml-training", ["Service.Accounts"]),
    ("terraform-deployer", []),
    ("dq-monitor", ["Service.Accounts"]),
]

METASTORE_NAME = "company-metastore"
WORKSPACES = [
    ("company-prod", "adb-company-prod"),
    ("company-dev", "adb-company-dev"),
    ("company-analytics", "adb-company-analytics"),
]

# Unity Catalog: catalog -> (owner, comment, {schema: (owner or None for the catalog owner, entities)}).
CATALOGS: dict[str, tuple[str, str, dict[str, tuple[str | None, list[str]]]]] = {
    "datalake": ("DataEngineers.Prod", "Central lakehouse: raw, staged and curated data", {
        "sales_data": (None, ["orders", "order_lines", "customers", "products", "returns", "shipments", "pricing"]),
        "finance": (None, ["transactions", "accounts", "invoices", "payments", "cost_centers", "budgets", "fx_rates"]),
        "raw": (None, ["crm_events", "web_clicks", "erp_extract", "app_logs", "iot_readings", "email_events"]),
        "staging": (None, ["orders", "customers", "invoices", "sessions", "inventory", "leads"]),
        "curated": (None, ["customer_360", "revenue", "churn_scores", "product_usage", "inventory", "sessions"]),
        "customers": (None, ["accounts", "contacts", "subscriptions", "support_tickets", "nps_responses", "segments"]),
    }),
    "prod_finance": ("Finance.Controllers", "Production finance data (restricted)", {
        "ledger": (None, ["general_ledger", "journal_entries", "chart_of_accounts", "accruals", "reconciliations"]),
        "reporting": (None, ["revenue_by_region", "pnl", "balance_sheet", "cash_flow", "headcount", "opex"]),
        "payroll": ("Finance.Payroll", ["salaries", "bonuses", "payslips", "deductions", "pensions"]),
        "forecasting": (None, ["revenue_forecast", "cost_forecast", "scenarios", "drivers", "fx_assumptions"]),
    }),
    "prod_sales": ("terraform-deployer", "Production sales and marketing data", {
        "crm": (None, ["accounts", "contacts", "opportunities", "contracts", "activities", "leads"]),
        "orders": (None, ["orders", "order_lines", "refunds", "discounts", "fulfilment", "invoices"]),
        "marketing": ("Marketing.Analytics", ["campaigns", "leads", "attribution", "web_traffic", "email_sends"]),
        "forecasts": (None, ["pipeline", "quota", "forecast_emea", "forecast_americas", "forecast_apac", "win_rates"]),
    }),
    "dev_sandbox": ("Platform.Admins", "Development sandbox: no production data", {
        "scratch": (None, ["tmp_orders", "tmp_customers", "test_events", "sample_sales", "playground"]),
        "data_engineering": ("DataEngineers.NonProd", ["orders", "customers", "events", "pipeline_runs", "dq_checks"]),
        "analysts": ("Analysts.NonProd", ["revenue_test", "cohort_analysis", "funnel", "ab_tests", "retention"]),
        "ml_experiments": ("ML.Engineers", ["training_runs", "feature_trials", "eval_metrics", "hyperparams"]),
    }),
    "ml_features": ("ML.Engineers", "Feature store and model training data", {
        "features": (None, ["customer_features", "product_features", "session_features", "price_features"]),
        "training": (None, ["churn_training", "ltv_training", "fraud_training", "demand_training"]),
        "models": (None, ["model_registry", "model_metrics", "predictions", "explanations"]),
        "monitoring": ("dq-monitor", ["drift_metrics", "data_quality", "alerts", "inference_log"]),
    }),
    "reference_data": ("Platform.Admins", "Shared reference data, readable by everyone", {
        "geo": (None, ["countries", "regions", "cities", "postal_codes"]),
        "calendar": (None, ["dates", "fiscal_periods", "holidays", "business_days"]),
        "currency": (None, ["currencies", "exchange_rates", "rate_history"]),
    }),
}  # fmt: skip
TABLE_SUFFIXES = ["", "_daily", "_monthly", "_history", "_snapshot", "_agg", "_v2", "_archive"]
TABLES_PER_SCHEMA = {"raw": 16, "staging": 14, "curated": 14}  # default: 12
COLUMN_POOL = [
    ("amount", "DECIMAL", "decimal(18,2)"), ("currency", "STRING", "string"), ("region", "STRING", "string"),
    ("status", "STRING", "string"), ("event_date", "DATE", "date"), ("created_at", "TIMESTAMP", "timestamp"),
    ("customer_id", "LONG", "bigint"), ("quantity", "INT", "int"), ("score", "DOUBLE", "double"),
    ("is_active", "BOOLEAN", "boolean"), ("country_code", "STRING", "string"), ("updated_at", "TIMESTAMP", "timestamp"),
]  # fmt: skip
VOLUMES = [
    ("datalake.sales_data.pipelines", "MANAGED", "Pipeline definitions and artefacts of the sales jobs"),
    ("datalake.raw.landing", "EXTERNAL", "Files dropped by source systems"),
    ("datalake.raw.archive", "EXTERNAL", "Processed source files"),
    ("datalake.staging.checkpoints", "MANAGED", "Streaming checkpoints"),
    ("datalake.curated.exports", "MANAGED", "Curated extracts for partners"),
    ("datalake.finance.statements", "MANAGED", "Bank statements (PDF)"),
    ("prod_finance.ledger.attachments", "MANAGED", "Journal entry attachments"),
    ("prod_finance.payroll.payslips", "MANAGED", "Generated payslips"),
    ("prod_finance.reporting.board_packs", "MANAGED", "Monthly board packs"),
    ("prod_sales.crm.imports", "MANAGED", "CRM bulk imports"),
    ("prod_sales.marketing.assets", "MANAGED", "Campaign assets"),
    ("prod_sales.orders.exports", "MANAGED", "Order exports"),
    ("dev_sandbox.scratch.uploads", "MANAGED", "Ad-hoc uploads"),
    ("dev_sandbox.data_engineering.fixtures", "MANAGED", "Test fixtures"),
    ("dev_sandbox.ml_experiments.artifacts", "MANAGED", "Experiment artefacts"),
    ("ml_features.training.datasets", "MANAGED", "Training datasets"),
    ("ml_features.models.checkpoints", "MANAGED", "Model checkpoints"),
    ("ml_features.monitoring.reports", "MANAGED", "Drift reports"),
    ("reference_data.geo.shapefiles", "MANAGED", "Country and region shapes"),
    ("reference_data.currency.feeds", "EXTERNAL", "Daily rate feeds from the ECB"),
]
FUNCTIONS = [
    ("datalake.curated.mask_email", "Mask the local part of an email address"),
    ("datalake.curated.mask_iban", "Mask all but the last four characters of an IBAN"),
    ("datalake.finance.fiscal_period", "Fiscal period of a date"),
    ("datalake.sales_data.normalize_region", "Map free-text regions to EMEA, AMERICAS or APAC"),
    ("prod_finance.ledger.account_category", "Category of a ledger account"),
    ("prod_finance.payroll.mask_salary", "Round salaries to bands for non-payroll readers"),
    ("prod_finance.reporting.fx_convert", "Convert an amount to EUR at the month-end rate"),
    ("prod_sales.crm.clean_phone", "Normalise a phone number to E.164"),
    ("prod_sales.orders.order_margin", "Gross margin of an order"),
    ("ml_features.features.zscore", "Standard score"),
    ("ml_features.features.bucketize", "Bucket a numeric value"),
    ("ml_features.monitoring.psi", "Population stability index"),
    ("reference_data.calendar.fiscal_quarter", "Fiscal quarter of a date"),
    ("reference_data.calendar.is_business_day", "Whether a date is a business day"),
    ("reference_data.geo.country_name", "Country name of an ISO code"),
]
STORAGE_ROOT = "abfss://{container}@companydatalake.dfs.core.windows.net/"
MISSING_USER = "old.contractor@company.com"  # a leaver removed from SCIM whose grant stayed behind
MISSING_GROUP = "BI.Legacy"  # a deleted group whose grants stayed behind
PRODUCTION_CATALOG = "prod_sales"
ENTRA_TENANT_FILE = "entra_tenant.json"
ROSTER_FILE = "roster.csv"
DESIRED_GRANTS_FILE = "desired_grants.json"

# What `plans.from_grants` / `scimkit plan --grants` read: the grants named principals should hold on
# named securables. One entry already holds (in place), two are new; Sales's grant on
# prod_sales.forecasts is listed by nobody, so it is reported (revoked only with --exclusive).
DESIRED_GRANTS = {
    "format": "scimkit-desired-grants",
    "version": 1,
    "grants": [
        {"securable_type": "SCHEMA", "full_name": "prod_sales.forecasts", "principal": "Executives",
         "privileges": ["USE SCHEMA", "SELECT"]},
        {"securable_type": "SCHEMA", "full_name": "prod_sales.forecasts", "principal": "Analysts.Prod",
         "privileges": ["USE SCHEMA", "SELECT"]},
        {"securable_type": "SCHEMA", "full_name": "dev_sandbox.analysts", "principal": "Analysts.Prod",
         "privileges": ["USE SCHEMA", "SELECT"]},
    ],
}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _email(local: str) -> str:
    return f"{local}@{DOMAIN}"


def build(rng: random.Random | None = None) -> dict[str, Any]:
    """Build every seed document; returns {file key: JSON-able object} plus the manifest."""
    rng = rng or random.Random(RANDOM_SEED)

    # -- people -------------------------------------------------------------------------------
    firsts = [f for f in FIRST_NAMES if f not in {"Alex", "Jaya"}]
    combos = [(f, last) for f in firsts for last in LAST_NAMES]
    n_in_groups = sum(n for _, n in QUOTAS)
    n_people = DEACTIVATED_NO_GROUP + ACTIVE_NO_GROUP + n_in_groups
    people = rng.sample(combos, n_people)

    # Each person: first, last, primary group (or None), active, synced from the identity provider.
    slots = [group for group, n in QUOTAS for _ in range(n)]
    for group in DEACTIVATED_IN_GROUPS:
        slots.remove(group)
    persons: list[dict[str, Any]] = []
    cursor = 0
    for _ in range(DEACTIVATED_NO_GROUP):
        first, last = people[cursor]
        cursor += 1
        persons.append({"first": first, "last": last, "group": None, "active": False, "idp": True})
    for group in DEACTIVATED_IN_GROUPS:
        first, last = people[cursor]
        cursor += 1
        persons.append({"first": first, "last": last, "group": group, "active": False, "idp": True})
    for i in range(ACTIVE_NO_GROUP):
        first, last = people[cursor]
        cursor += 1
        # The first is a new joiner created in the console and not yet put in a group.
        persons.append({"first": first, "last": last, "group": None, "active": True, "idp": i > 0})
    for group in slots:
        first, last = people[cursor]
        cursor += 1
        persons.append(
            {
                "first": first,
                "last": last,
                "group": group,
                "active": True,
                "idp": group not in CONSOLE_CREATED_GROUPS,
            }
        )
    for local, first, last, group in SPECIAL_USERS:
        persons.append(
            {"local": local, "first": first, "last": last, "group": group, "active": True, "idp": True}
        )
    for p in persons:
        p.setdefault("local", f"{p['first'].lower()}.{p['last'].lower()}")
        p["email"] = _email(p["local"])
        p["external_id"] = _uuid(rng) if p["idp"] else None
    persons.sort(key=lambda p: p["email"])
    for i, p in enumerate(persons, start=1):
        p["id"] = str(USER_ID_BASE + i)

    def members_of(group: str) -> list[dict[str, Any]]:
        return [p for p in persons if p["group"] == group]

    admins = members_of("Platform.Admins")[:3]
    for p in admins:
        p["admin"] = True

    users = []
    for p in persons:
        doc: dict[str, Any] = {"id": p["id"]}
        if p["external_id"]:
            doc["externalId"] = p["external_id"]
        doc.update(
            {
                "userName": p["email"],
                "displayName": f"{p['first']} {p['last']}",
                "name": {"givenName": p["first"], "familyName": p["last"]},
                "emails": [{"value": p["email"], "primary": True, "type": "work"}],
                "active": p["active"],
            }
        )
        if p.get("admin"):
            doc["roles"] = [{"value": "account_admin"}]
        users.append(doc)

    # -- service principals -------------------------------------------------------------------
    sps = []
    sp_app: dict[str, str] = {}
    sp_id: dict[str, str] = {}
    for i, (name, _) in enumerate(SERVICE_PRINCIPALS, start=1):
        app_id = _uuid(rng)
        sp_app[name] = app_id
        sp_id[name] = str(SP_ID_BASE + i)
        sps.append({"id": sp_id[name], "applicationId": app_id, "displayName": name, "active": True})

    # -- groups -------------------------------------------------------------------------------
    group_id = {name: str(GROUP_ID_BASE + i) for i, (name, _, _) in enumerate(GROUPS, start=1)}
    member_ids: dict[str, list[str]] = {name: [] for name, _, _ in GROUPS}
    for name, _, parents in GROUPS:
        for parent in parents:
            member_ids[parent].append(group_id[name])
    for p in persons:
        if p["group"]:
            member_ids[p["group"]].append(p["id"])
    for name, parents in SERVICE_PRINCIPALS:
        for parent in parents:
            member_ids[parent].append(sp_id[name])
    # Cross-cutting memberships: data stewards from the analyst and finance teams, and two platform
    # engineers who administer workspaces without being platform admins.
    stewards = [
        p
        for p in persons
        if p["active"] and p["group"] in ("Analysts.Prod", "Finance.Controllers", "DataEngineers.Prod")
    ]
    for p in rng.sample(stewards, 8):
        member_ids["Data.Stewards"].append(p["id"])
    workspace_admin_people = members_of("Platform.Engineers")[:2]
    for p in workspace_admin_people:
        member_ids["Workspace.Admins"].append(p["id"])

    groups = []
    for name, idp, _ in GROUPS:
        doc = {"id": group_id[name], "displayName": name}
        if idp:
            doc["externalId"] = _uuid(rng)
            doc["_provisioned_by_idp"] = True
        doc["members"] = [{"value": m} for m in sorted(member_ids[name])]
        groups.append(doc)

    # -- metastore and workspaces -------------------------------------------------------------
    metastore_id = _uuid(rng)
    metastores = [
        {
            "metastore_id": metastore_id,
            "name": METASTORE_NAME,
            "region": "westeurope",
            "owner": "Platform.Admins",
            "storage_root": STORAGE_ROOT.format(container="metastore"),
        }
    ]

    no_group_joiner = next(p for p in persons if p["active"] and not p["group"] and not p["idp"])
    executive = members_of("Executives")[0]

    def assign(principal_id: str, permission: str) -> dict[str, Any]:
        return {"principal_id": principal_id, "permissions": [permission]}

    assignments = {
        "company-prod": [
            assign(group_id["Employees"], "USER"),
            assign(group_id["Platform.Admins"], "ADMIN"),
            assign(group_id["Workspace.Admins"], "USER"),
            assign(no_group_joiner["id"], "USER"),
            assign(sp_id["etl-prod-runner"], "USER"),
            assign(sp_id["dq-monitor"], "USER"),
            assign(sp_id["terraform-deployer"], "USER"),
        ],
        "company-dev": [
            assign(group_id["Engineering"], "USER"),
            assign(group_id["Analytics"], "USER"),
            assign(group_id["Contractors"], "USER"),
            assign(group_id["Platform.Admins"], "ADMIN"),
            assign(workspace_admin_people[0]["id"], "ADMIN"),
            assign(workspace_admin_people[1]["id"], "ADMIN"),
            assign(sp_id["ml-training"], "USER"),
            assign(sp_id["terraform-deployer"], "ADMIN"),
        ],
        "company-analytics": [
            assign(group_id["Analytics"], "USER"),
            assign(group_id["Finance"], "USER"),
            assign(group_id["Sales"], "USER"),
            assign(group_id["Marketing"], "USER"),
            assign(group_id["Executives"], "USER"),
            assign(group_id["Platform.Admins"], "ADMIN"),
            assign(executive["id"], "USER"),
            assign(sp_id["bi-refresh"], "USER"),
            assign(sp_id["terraform-deployer"], "USER"),
        ],
    }
    workspaces = []
    for i, (name, deployment) in enumerate(WORKSPACES, start=1):
        workspaces.append(
            {
                "workspace_id": WORKSPACE_ID_BASE + i,
                "workspace_name": name,
                "deployment_name": deployment,
                "metastore_id": metastore_id,
                "assignments": assignments[name],
            }
        )

    # -- Unity Catalog securables -------------------------------------------------------------
    def owner_name(owner: str) -> str:
        return sp_app.get(owner, owner)

    sales_ops_owner = next(p for p in members_of("Sales.Ops") if p["active"])
    storage_credentials = [
        {
            "name": "company-adls-mi",
            "owner": "Platform.Admins",
            "comment": "Managed identity of the access connector for the data lake",
        },
        {
            "name": "finance-adls-sp",
            "owner": "Platform.Admins",
            "comment": "Service principal with access to the finance storage account",
        },
    ]
    external_locations = [
        {
            "name": "raw-landing",
            "url": STORAGE_ROOT.format(container="landing"),
            "credential_name": "company-adls-mi",
            "owner": "Platform.Admins",
        },
        {
            "name": "finance-exports",
            "url": "abfss://exports@companyfinance.dfs.core.windows.net/",
            "credential_name": "finance-adls-sp",
            "owner": "Platform.Admins",
        },
    ]
    catalogs: list[dict[str, Any]] = []
    schemas: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    schema_owner: dict[str, str] = {}
    for catalog, (cat_owner, comment, catalog_schemas) in CATALOGS.items():
        catalogs.append(
            {
                "name": catalog,
                "catalog_type": "MANAGED_CATALOG",
                "owner": owner_name(cat_owner),
                "comment": comment,
            }
        )
        for schema, (owner, entities) in catalog_schemas.items():
            full = f"{catalog}.{schema}"
            schema_owner[full] = owner_name(owner or cat_owner)
            schemas.append(
                {
                    "full_name": full,
                    "owner": schema_owner[full],
                    "comment": f"{schema.replace('_', ' ').capitalize()} ({catalog})",
                }
            )
            candidates = [e + s for e in entities for s in TABLE_SUFFIXES]
            required = list(entities)
            extra = rng.sample(
                [c for c in candidates if c not in required],
                TABLES_PER_SCHEMA.get(schema, 12) - len(required),
            )
            for name in sorted(required + extra):
                is_view = name not in required and rng.random() < 0.15
                table_type = "VIEW" if is_view else ("EXTERNAL" if schema == "raw" else "MANAGED")
                table_name = f"v_{name}" if is_view else name
                tables.append(
                    _table(
                        rng,
                        f"{full}.{table_name}",
                        table_type,
                        schema_owner[full],
                        etl_owner=sp_app["etl-prod-runner"],
                    )
                )
    # Planted: a table owned by a person rather than a group or a service principal.
    user_owned_table = "prod_sales.forecasts.q4_pipeline_adhoc"
    tables.append(_table(rng, user_owned_table, "MANAGED", sales_ops_owner["email"], etl_owner=""))
    tables[-1]["comment"] = "Ad-hoc copy of the Q4 pipeline made for a board meeting"
    tables.sort(key=lambda t: t["full_name"])
    transactions = next(t for t in tables if t["full_name"] == "datalake.finance.transactions")
    transactions["comment"] = "Card and bank transactions, one row per booking"
    transactions["columns"] = _columns(
        [
            ("txn_id", "LONG", "bigint"),
            ("account_id", "LONG", "bigint"),
            ("amount", "DECIMAL", "decimal(18,2)"),
            ("txn_date", "DATE", "date"),
        ]
    )

    volumes = []
    for full, volume_type, comment in VOLUMES:
        doc = {
            "full_name": full,
            "volume_type": volume_type,
            "owner": schema_owner[full.rsplit(".", 1)[0]],
            "comment": comment,
        }
        if volume_type == "EXTERNAL":
            doc["storage_location"] = STORAGE_ROOT.format(container="landing") + full.replace(".", "/")
        volumes.append(doc)
    functions = [
        {"full_name": full, "owner": schema_owner[full.rsplit(".", 1)[0]], "comment": comment}
        for full, comment in FUNCTIONS
    ]

    unity_catalog = {
        "storage_credentials": storage_credentials,
        "external_locations": external_locations,
        "catalogs": catalogs,
        "schemas": schemas,
        "tables": tables,
        "volumes": volumes,
        "functions": functions,
    }

    # -- grants -------------------------------------------------------------------------------
    grants_map: dict[tuple[str, str, str], list[str]] = {}

    def grant(securable_type: str, full_name: str, principal: str, *privileges: str) -> None:
        privs = grants_map.setdefault((securable_type, full_name, owner_name(principal)), [])
        privs.extend(p for p in privileges if p not in privs)

    def table_names(schema: str) -> list[str]:
        return [t["full_name"] for t in tables if t["full_name"].rsplit(".", 1)[0] == schema]

    # The seed example's grants, as they stand after its valid statements (docs: databricks-api.md 7.4).
    grant("CATALOG", "datalake", "DataEngineers.Prod", "USE_CATALOG")
    grant("SCHEMA", "datalake.sales_data", "DataEngineers.Prod", "SELECT")
    # Planted: granted but not usable (no USE_CATALOG on datalake, no USE_SCHEMA on datalake.finance).
    grant("TABLE", "datalake.finance.transactions", "Analysts.NonProd", "SELECT")

    # Metastore.
    grant(
        "METASTORE",
        metastore_id,
        "Platform.Admins",
        "CREATE_CATALOG",
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_STORAGE_CREDENTIAL",
        "CREATE_CONNECTION",
    )
    grant("METASTORE", metastore_id, "terraform-deployer", "CREATE_CATALOG", "CREATE_EXTERNAL_LOCATION")
    grant("METASTORE", metastore_id, "Data.Stewards", "CREATE_SHARE", "CREATE_RECIPIENT", "CREATE_PROVIDER")
    grant("METASTORE", metastore_id, "account users", "USE_MARKETPLACE_ASSETS")

    # Storage credentials and external locations.
    grant("STORAGE_CREDENTIAL", "company-adls-mi", "Platform.Engineers", "CREATE_EXTERNAL_LOCATION")
    grant("STORAGE_CREDENTIAL", "company-adls-mi", "DataEngineers.Prod", "READ_FILES")
    grant("STORAGE_CREDENTIAL", "finance-adls-sp", "Finance.Controllers", "READ_FILES")
    grant(
        "EXTERNAL_LOCATION",
        "raw-landing",
        "DataEngineers.Prod",
        "READ_FILES",
        "WRITE_FILES",
        "CREATE_EXTERNAL_TABLE",
        "CREATE_EXTERNAL_VOLUME",
    )
    grant("EXTERNAL_LOCATION", "raw-landing", "etl-prod-runner", "READ_FILES", "WRITE_FILES")
    grant("EXTERNAL_LOCATION", "raw-landing", "DataEngineers.NonProd", "READ_FILES")
    grant("EXTERNAL_LOCATION", "raw-landing", "Contractors.DataOps", "READ_FILES")
    grant("EXTERNAL_LOCATION", "raw-landing", "Platform.Engineers", "BROWSE", "CREATE_MANAGED_STORAGE")
    grant("EXTERNAL_LOCATION", "raw-landing", "Security.Engineers", "BROWSE")
    grant("EXTERNAL_LOCATION", "finance-exports", "Finance.Controllers", "READ_FILES", "WRITE_FILES")
    grant("EXTERNAL_LOCATION", "finance-exports", "Security.Auditors", "BROWSE")
    grant("EXTERNAL_LOCATION", "finance-exports", "Security.Engineers", "BROWSE")

    # datalake (owned by DataEngineers.Prod).
    grant("CATALOG", "datalake", "Data.Platform", "USE_CATALOG", "BROWSE")
    grant("CATALOG", "datalake", "Finance.Controllers", "USE_CATALOG")
    grant("CATALOG", "datalake", "Analysts.Prod", "USE_CATALOG")
    grant("CATALOG", "datalake", "ML.Engineers", "USE_CATALOG")
    grant("CATALOG", "datalake", "Customer.Success", "USE_CATALOG")
    grant("CATALOG", "datalake", "Data.Stewards", "BROWSE")
    grant("CATALOG", "datalake", "Security", "BROWSE")
    grant("CATALOG", "datalake", "etl-prod-runner", "USE_CATALOG")
    grant("CATALOG", "datalake", "bi-refresh", "USE_CATALOG")
    grant("CATALOG", "datalake", "ml-training", "USE_CATALOG")
    grant("CATALOG", "datalake", "dq-monitor", "USE_CATALOG", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.sales_data", "Analysts.Prod", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.sales_data", "bi-refresh", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.finance", "Finance.Controllers", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.finance", "Analysts.Finance", "USE_SCHEMA", "SELECT")
    for schema in ("sales_data", "finance", "raw", "staging", "curated", "customers"):
        grant(
            "SCHEMA",
            f"datalake.{schema}",
            "etl-prod-runner",
            "USE_SCHEMA",
            "SELECT",
            "MODIFY",
            "CREATE_TABLE",
        )
    grant("SCHEMA", "datalake.raw", "DataEngineers.NonProd", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.staging", "DataEngineers.NonProd", "USE_SCHEMA", "SELECT", "MODIFY")
    grant("SCHEMA", "datalake.staging", "DataEngineers.Oncall", "MODIFY")
    grant("SCHEMA", "datalake.curated", "Analysts.Prod", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.curated", "ML.Engineers", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.curated", "ml-training", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.curated", "bi-refresh", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.customers", "Analysts.Prod", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "datalake.customers", "Customer.Success", "USE_SCHEMA")
    for full in table_names("datalake.customers"):
        if full.rsplit(".", 1)[1].startswith(("accounts", "contacts", "support_tickets", "nps_responses")):
            grant("TABLE", full, "Customer.Success", "SELECT")
    grant("VOLUME", "datalake.raw.landing", "etl-prod-runner", "READ_VOLUME", "WRITE_VOLUME")
    grant("VOLUME", "datalake.raw.landing", "DataEngineers.NonProd", "READ_VOLUME")
    grant("FUNCTION", "datalake.curated.mask_email", "ML.Engineers", "EXECUTE")
    grant("FUNCTION", "datalake.curated.mask_email", "Analysts.Prod", "EXECUTE")
    grant("FUNCTION", "datalake.curated.mask_iban", "Analysts.Prod", "EXECUTE")

    # prod_finance (owned by Finance.Controllers).
    grant("CATALOG", "prod_finance", "Finance", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "Executives", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "HR", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "Analysts.Prod", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "BI.Developers", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "Security.Auditors", "USE_CATALOG", "USE_SCHEMA", "SELECT", "BROWSE")
    grant("CATALOG", "prod_finance", "Analytics", "BROWSE")
    grant("CATALOG", "prod_finance", "Data.Stewards", "BROWSE")
    grant("CATALOG", "prod_finance", "etl-prod-runner", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "bi-refresh", "USE_CATALOG")
    grant("CATALOG", "prod_finance", "Legacy.Reporting", "USE_CATALOG")
    for schema in ("ledger", "reporting", "forecasting"):
        grant("SCHEMA", f"prod_finance.{schema}", "Finance.Readers", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_finance.ledger", "etl-prod-runner", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_finance.ledger", "Analysts.Prod", "USE_SCHEMA")
    grant("SCHEMA", "prod_finance.payroll", "Finance.Payroll", "USE_SCHEMA", "SELECT", "MODIFY")
    grant("SCHEMA", "prod_finance.payroll", "HR.Partners", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_finance.reporting", "Executives", "USE_SCHEMA", "SELECT", "READ_VOLUME")
    grant("SCHEMA", "prod_finance.reporting", "Analysts.Prod", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_finance.reporting", "BI.Developers", "USE_SCHEMA", "CREATE_TABLE")
    grant("SCHEMA", "prod_finance.reporting", "bi-refresh", "USE_SCHEMA")
    grant("SCHEMA", "prod_finance.reporting", "HR.Analytics", "USE_SCHEMA")
    grant("SCHEMA", "prod_finance.reporting", "Legacy.Reporting", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_finance.forecasting", "Analysts.Finance", "USE_SCHEMA", "SELECT", "MODIFY")
    for full in table_names("prod_finance.reporting"):
        grant("TABLE", full, "bi-refresh", "SELECT")
        if full.rsplit(".", 1)[1].startswith(("headcount", "opex")):
            grant("TABLE", full, "HR.Analytics", "SELECT")
    grant("VOLUME", "prod_finance.reporting.board_packs", "Executives", "READ_VOLUME")
    grant(
        "VOLUME", "prod_finance.reporting.board_packs", "Finance.Controllers", "READ_VOLUME", "WRITE_VOLUME"
    )
    grant("FUNCTION", "prod_finance.reporting.fx_convert", "BI.Developers", "EXECUTE")
    grant("FUNCTION", "prod_finance.reporting.fx_convert", "Finance.Readers", "EXECUTE")
    grant("FUNCTION", "prod_finance.payroll.mask_salary", "HR.Partners", "EXECUTE")

    # prod_sales (owned by terraform-deployer).
    grant("CATALOG", "prod_sales", "Sales", "USE_CATALOG")
    grant("CATALOG", "prod_sales", "Marketing", "USE_CATALOG")
    grant("CATALOG", "prod_sales", "Customer.Success", "USE_CATALOG")
    grant("CATALOG", "prod_sales", "Legal", "USE_CATALOG")
    grant("CATALOG", "prod_sales", "Executives", "USE_CATALOG")
    grant("CATALOG", "prod_sales", "Software.Backend", "USE_CATALOG")
    grant("CATALOG", "prod_sales", "Analysts.Prod", "USE_CATALOG", "USE_SCHEMA", "SELECT")
    grant("CATALOG", "prod_sales", "BI.Developers", "USE_CATALOG", "USE_SCHEMA", "SELECT")
    grant("CATALOG", "prod_sales", "bi-refresh", "USE_CATALOG", "USE_SCHEMA", "SELECT")
    # Planted: a pipeline service principal that can modify every table of a production catalog.
    grant("CATALOG", PRODUCTION_CATALOG, "etl-prod-runner", "USE_CATALOG", "USE_SCHEMA", "SELECT", "MODIFY")
    grant("CATALOG", "prod_sales", "Analytics", "BROWSE")
    grant("CATALOG", "prod_sales", "Data.Stewards", "BROWSE")
    for schema in ("crm", "orders", "forecasts"):
        grant("SCHEMA", f"prod_sales.{schema}", "Sales", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_sales.crm", "Sales.Ops", "MODIFY", "CREATE_TABLE")
    grant("SCHEMA", "prod_sales.crm", "Customer.Success", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_sales.crm", "Legal", "USE_SCHEMA")
    grant("SCHEMA", "prod_sales.marketing", "Marketing", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_sales.crm", "Marketing.Analytics", "USE_SCHEMA")
    grant("TABLE", "prod_sales.crm.leads", "Marketing.Analytics", "SELECT")
    grant("SCHEMA", "prod_sales.forecasts", "Executives", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_sales.orders", "Software.Backend", "USE_SCHEMA", "SELECT")
    for full in table_names("prod_sales.crm"):
        if full.rsplit(".", 1)[1].startswith("contracts"):
            grant("TABLE", full, "Legal", "SELECT")
    for region in ("emea", "americas", "apac"):
        group = {"emea": "Sales.EMEA", "americas": "Sales.Americas", "apac": "Sales.APAC"}[region]
        for full in table_names("prod_sales.forecasts"):
            if full.rsplit(".", 1)[1].startswith(f"forecast_{region}"):
                grant("TABLE", full, group, "MODIFY")
    grant("VOLUME", "prod_sales.marketing.assets", "Marketing", "READ_VOLUME", "WRITE_VOLUME")
    grant("VOLUME", "prod_sales.crm.imports", "Sales.Ops", "READ_VOLUME", "WRITE_VOLUME")
    grant("FUNCTION", "prod_sales.crm.clean_phone", "Sales.Ops", "EXECUTE")
    grant("FUNCTION", "prod_sales.orders.order_margin", "Analysts.Prod", "EXECUTE")

    # dev_sandbox (owned by Platform.Admins).
    # Planted: every privilege on a whole catalog to the whole engineering department.
    grant("CATALOG", "dev_sandbox", "Engineering", "ALL_PRIVILEGES")
    grant("CATALOG", "dev_sandbox", "Analysts.NonProd", "USE_CATALOG")
    grant("CATALOG", "dev_sandbox", "Contractors", "USE_CATALOG")
    grant("CATALOG", "dev_sandbox", "Workspace.Admins", "BROWSE")
    grant(
        "SCHEMA", "dev_sandbox.analysts", "Analysts.NonProd", "USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE"
    )
    grant("SCHEMA", "dev_sandbox.scratch", "Contractors", "USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE")
    grant("SCHEMA", "dev_sandbox.scratch", "QA", "USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE")
    grant(
        "SCHEMA",
        "dev_sandbox.data_engineering",
        "DataEngineers.NonProd",
        "USE_SCHEMA",
        "SELECT",
        "MODIFY",
        "CREATE_TABLE",
        "CREATE_VOLUME",
        "CREATE_FUNCTION",
    )
    grant(
        "SCHEMA",
        "dev_sandbox.ml_experiments",
        "ML.Researchers",
        "USE_SCHEMA",
        "CREATE_TABLE",
        "CREATE_VOLUME",
    )
    grant("VOLUME", "dev_sandbox.scratch.uploads", "Contractors.DataOps", "READ_VOLUME", "WRITE_VOLUME")

    # ml_features (owned by ML.Engineers).
    grant("CATALOG", "ml_features", "ml-training", "USE_CATALOG", "USE_SCHEMA", "SELECT")
    grant("CATALOG", "ml_features", "Analysts.Prod", "USE_CATALOG")
    grant("CATALOG", "ml_features", "DataEngineers.Prod", "USE_CATALOG")
    grant("CATALOG", "ml_features", "dq-monitor", "USE_CATALOG")
    grant("CATALOG", "ml_features", "Security.Engineers", "USE_CATALOG")
    grant("SCHEMA", "ml_features.training", "ml-training", "MODIFY", "CREATE_TABLE")
    grant("SCHEMA", "ml_features.models", "ml-training", "MODIFY", "CREATE_TABLE", "CREATE_VOLUME")
    grant("SCHEMA", "ml_features.features", "Analysts.Prod", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "ml_features.features", "DataEngineers.Prod", "USE_SCHEMA", "SELECT", "MODIFY")
    grant("SCHEMA", "ml_features.training", "ML.Researchers", "USE_SCHEMA", "SELECT", "CREATE_TABLE")
    grant("SCHEMA", "ml_features.monitoring", "Security.Engineers", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "ml_features.features", "dq-monitor", "USE_SCHEMA", "SELECT")
    grant("VOLUME", "ml_features.training.datasets", "ml-training", "READ_VOLUME", "WRITE_VOLUME")
    grant("VOLUME", "ml_features.models.checkpoints", "ml-training", "READ_VOLUME", "WRITE_VOLUME")
    grant("FUNCTION", "ml_features.features.zscore", "Analysts.Prod", "EXECUTE")
    grant("FUNCTION", "ml_features.features.bucketize", "Analysts.Prod", "EXECUTE")

    # reference_data (owned by Platform.Admins), readable by everyone.
    grant("CATALOG", "reference_data", "account users", "USE_CATALOG", "BROWSE")
    grant("CATALOG", "reference_data", "Employees", "USE_SCHEMA", "SELECT")
    grant("CATALOG", "reference_data", "Service.Accounts", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "reference_data.calendar", "Contractors", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "reference_data.geo", "Software.Frontend", "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "reference_data.currency", "Finance.Controllers", "MODIFY")
    grant("FUNCTION", "reference_data.calendar.fiscal_quarter", "Employees", "EXECUTE")
    grant("FUNCTION", "reference_data.calendar.is_business_day", "Employees", "EXECUTE")
    grant("FUNCTION", "reference_data.geo.country_name", "Employees", "EXECUTE")

    # Planted grant problems on people and on principals that no longer exist.
    direct_user = members_of("Analysts.Prod")[0]
    grant("TABLE", "prod_finance.ledger.general_ledger", direct_user["email"], "SELECT")
    deactivated_with_grant = next(p for p in persons if not p["active"] and p["group"] == "Sales.EMEA")
    grant("TABLE", "prod_sales.crm.accounts", deactivated_with_grant["email"], "SELECT", "MODIFY")
    grant("SCHEMA", "prod_sales.crm", MISSING_USER, "USE_SCHEMA", "SELECT")
    grant("SCHEMA", "prod_finance.reporting", MISSING_GROUP, "USE_SCHEMA", "SELECT")

    grants = [
        {"securable_type": st, "full_name": fn, "principal": pr, "privileges": privs}
        for (st, fn, pr), privs in grants_map.items()
    ]

    # -- planted problems ---------------------------------------------------------------------
    def names_of_groups(person: dict[str, Any]) -> str:
        return ", ".join(sorted(g for g, ids in member_ids.items() if person["id"] in ids))

    planted: list[dict[str, Any]] = [
        {
            "kind": "empty_group",
            "principal": "Legacy.Reporting",
            "detail": "Group with no members that still holds grants on prod_finance",
        },
        {
            "kind": "group_without_grants",
            "principal": "Marketing.Interns",
            "detail": "Group that holds no grant and owns nothing (its members only inherit through Marketing)",
        },
    ]
    for p in persons:
        if not p["active"] and p["group"]:
            planted.append(
                {
                    "kind": "deactivated_user_in_groups",
                    "principal": p["email"],
                    "detail": f"Deactivated user still a member of {names_of_groups(p)}",
                }
            )
    for p in persons:
        if p["active"] and not p["group"]:
            how = "created in the console" if not p["idp"] else "synced from Entra ID"
            planted.append(
                {
                    "kind": "user_in_no_group",
                    "principal": p["email"],
                    "detail": f"Active user ({how}) who belongs to no group",
                }
            )
    planted += [
        {
            "kind": "direct_user_grant",
            "principal": direct_user["email"],
            "securable_type": "TABLE",
            "securable": "prod_finance.ledger.general_ledger",
            "detail": "SELECT granted to a person instead of a group",
        },
        {
            "kind": "all_privileges_to_broad_group",
            "principal": "Engineering",
            "securable_type": "CATALOG",
            "securable": "dev_sandbox",
            "detail": "ALL_PRIVILEGES on a whole catalog to a department group",
        },
        {
            "kind": "grant_to_deactivated_user",
            "principal": deactivated_with_grant["email"],
            "securable_type": "TABLE",
            "securable": "prod_sales.crm.accounts",
            "detail": "SELECT and MODIFY still granted to a deactivated user",
        },
        {
            "kind": "grant_to_missing_principal",
            "principal": MISSING_USER,
            "securable_type": "SCHEMA",
            "securable": "prod_sales.crm",
            "detail": "Grant left behind for a user who is no longer in the account",
        },
        {
            "kind": "grant_to_missing_principal",
            "principal": MISSING_GROUP,
            "securable_type": "SCHEMA",
            "securable": "prod_finance.reporting",
            "detail": "Grant left behind for a group that was deleted",
        },
        {
            "kind": "securable_owned_by_user",
            "principal": sales_ops_owner["email"],
            "securable_type": "TABLE",
            "securable": user_owned_table,
            "detail": "Table owned by an individual instead of a group or service principal",
        },
        {
            "kind": "sp_modify_on_production_catalog",
            "principal": sp_app["etl-prod-runner"],
            "securable_type": "CATALOG",
            "securable": PRODUCTION_CATALOG,
            "detail": "Service principal etl-prod-runner holds MODIFY on a whole production catalog",
        },
        {
            "kind": "granted_not_usable",
            "principal": "Analysts.NonProd",
            "securable_type": "TABLE",
            "securable": "datalake.finance.transactions",
            "detail": "SELECT granted without USE_CATALOG on datalake and USE_SCHEMA on datalake.finance",
        },
        {
            "kind": "too_many_admins",
            "securable_type": "WORKSPACE",
            "securable": "company-dev",
            "detail": "company-dev has more workspace admins than the default threshold of 5 "
            "(Platform.Admins, two people, terraform-deployer and the account's admin principal)",
        },
        # The previous snapshot (scripts/make_previous_snapshot.py) predates these two changes.
        {
            "kind": "access_widened",
            "principal": sp_app["etl-prod-runner"],
            "securable_type": "CATALOG",
            "securable": PRODUCTION_CATALOG,
            "detail": "MODIFY on the production catalog was granted to etl-prod-runner since the previous snapshot",
        },
        {
            "kind": "access_widened",
            "principal": "yara.rossi@company.com",
            "detail": "yara.rossi@company.com joined the privileged group Platform.Admins since the previous snapshot",
        },
    ]

    counts = {
        "users": len(users),
        "active_users": sum(1 for u in users if u["active"]),
        "deactivated_users": sum(1 for u in users if not u["active"]),
        "account_admins": sum(1 for u in users if u.get("roles")),
        "service_principals": len(sps),
        "groups": len(groups),
        "idp_groups": sum(1 for g in groups if g.get("_provisioned_by_idp")),
        "max_group_depth": _max_depth(groups),
        "metastores": len(metastores),
        "workspaces": len(workspaces),
        "workspace_assignments": sum(len(w["assignments"]) for w in workspaces),
        "storage_credentials": len(storage_credentials),
        "external_locations": len(external_locations),
        "catalogs": len(catalogs),
        "schemas": len(schemas),
        "tables": len(tables),
        "views": sum(1 for t in tables if t["table_type"] == "VIEW"),
        "volumes": len(volumes),
        "functions": len(functions),
        "grants": len(grants),
        "privileges_granted": sum(len(g["privileges"]) for g in grants),
    }
    manifest = {
        "format": "scimkit-seed",
        "version": 1,
        "name": DOMAIN,
        "description": (
            "The fictional company company.com: people synced from Entra ID, nested department "
            "groups, three workspaces on one metastore, six catalogs and grants with deliberate "
            "compliance problems (see planted)."
        ),
        "generator": GENERATOR,
        "random_seed": RANDOM_SEED,
        "files": dict(FILES),
        # Not seed files: written by scripts/make_previous_snapshot.py, which reads this seed through the
        # emulator (a snapshot root a week older than the seed, and the findings the report must produce).
        "report": {"previous_snapshot": "previous_snapshot", "expected_findings": "expected_findings.json"},
        "counts": counts,
        "planted": planted,
    }
    return {
        "manifest": manifest,
        "users": users,
        "service_principals": sps,
        "groups": groups,
        "metastores": metastores,
        "workspaces": workspaces,
        "unity_catalog": unity_catalog,
        "grants": grants,
    }


# -- the identity provider's side: the Entra tenant and the HR roster --------------------------------
# The tenant mirrors the account (people with an externalId, the groups the identity provider
# knows) except for the differences planted below, each listed in manifest.json "drift".
ENTRA_TENANT_ID = "5c1a1c0d-e17a-4000-8000-00000000c0de"
ENTRA_NAMESPACE = uuid.UUID("5c1a1c0d-e17a-4000-8000-000000000000")
CONSOLE_ONLY_GROUPS = {"Contractors", "Contractors.DataOps", "Workspace.Admins", "Service.Accounts",
                       "Legacy.Reporting", "Data.Stewards"}
ENTRA_RENAMES = {"Customer.Success": "Customer.Experience"}  # renamed in Entra; the rename never syncs
ENTRA_NESTED = ("Sales.Leads", "Sales.EMEA", "Sales.Americas", 2)  # (group, parent, people from, count)
ENTRA_NEVER_ARRIVED = ("Data.Science", "ML.Engineers", 2)  # assigned to the app, absent in Databricks
ENTRA_DISABLED_FROM = "Software.Frontend"  # first active member: disabled in Entra, active in Databricks
ENTRA_DELETED_IN_CONSOLE = ("marta.lindqvist", "Marta", "Lindqvist", "Sales.APAC")
ENTRA_NOT_ASSIGNED = ("oskar.brenner", "Oskar", "Brenner", "Finance.Readers")
ENTRA_CREATED = "2025-03-03T09:00:00Z"
ROSTER_COLUMNS = ["email", "display_name", "groups", "workspaces", "start_date", "end_date", "employee_id"]
ROSTER_JOINERS = [
    ("lena.hoffmann", "Lena Hoffmann", ["Analysts.NonProd"], ["company-analytics"]),
    ("samir.haddad", "Samir Haddad", ["DataEngineers.NonProd"], ["company-dev"]),
    ("ingrid.solberg", "Ingrid Solberg", ["Finance.Readers"], ["company-analytics"]),
]
ROSTER_MOVERS = [("Analysts.NonProd", "Analysts.Prod"), ("QA", "Software.Backend")]
ROSTER_LEAVERS = ["Sales.Ops", "Marketing.Interns"]
ROSTER_UNCHANGED = ["Legal", "HR.Analytics"]
# A person of an unchanged group whose roster row lists a workspace they cannot reach (drift:
# missing_assignment), and the console-created user in no group, listed with another workspace
# than the one they are directly assigned to (missing_assignment and extra_assignment).
ROSTER_WORKSPACE_MISSING = {"Legal": "company-analytics"}
ROSTER_WORKSPACE_MOVER_TO = "company-dev"
ROSTER_JOIN_DATE = "2026-11-30"
ROSTER_LEAVE_DATE = "2026-11-27"


def _entra_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(ENTRA_NAMESPACE, f"{kind}:{name}"))


def build_identity_provider(docs: dict[str, Any]) -> dict[str, Any]:
    """The Entra tenant document, the roster CSV text and their planted differences, from the seed."""
    users = docs["users"]
    groups = docs["groups"]
    user_by_id = {u["id"]: u for u in users}
    group_by_id = {g["id"]: g for g in groups}

    def direct_people(name: str) -> list[dict[str, Any]]:
        group = next(g for g in groups if g["displayName"] == name)
        return [user_by_id[m["value"]] for m in group["members"] if m["value"] in user_by_id]

    def direct_groups(user_id: str) -> list[str]:
        return sorted(g["displayName"] for g in groups if any(m["value"] == user_id for m in g["members"]))

    # -- Entra ---------------------------------------------------------------------------------
    planted: list[dict[str, Any]] = []
    entra_users = []
    disabled = next(u for u in direct_people(ENTRA_DISABLED_FROM) if u["active"])
    for u in users:
        if not u.get("externalId"):
            continue  # created in the account console; Entra does not know them
        entra_users.append({"id": u["externalId"], "userPrincipalName": u["userName"], "mail": u["userName"],
                            "displayName": u["displayName"],
                            "accountEnabled": u["active"] and u["id"] != disabled["id"],
                            "createdDateTime": ENTRA_CREATED})
    planted.append({"kind": "disabled_but_active", "user": disabled["userName"],
                    "detail": "accountEnabled=false in Entra; still active in Databricks"})
    extra_people = {}
    for local, first, last, _group in (ENTRA_DELETED_IN_CONSOLE, ENTRA_NOT_ASSIGNED):
        email = _email(local)
        extra_people[local] = {"id": _entra_id("user", email), "userPrincipalName": email, "mail": email,
                               "displayName": f"{first} {last}", "accountEnabled": True,
                               "createdDateTime": ENTRA_CREATED}
        entra_users.append(extra_people[local])
    entra_users.sort(key=lambda u: u["userPrincipalName"])
    entra_id_of_user = {u["id"]: u["externalId"] for u in users if u.get("externalId")}

    entra_groups: list[dict[str, Any]] = []
    entra_group_id: dict[str, str] = {}
    for g in groups:
        if g["displayName"] in CONSOLE_ONLY_GROUPS:
            continue
        entra_group_id[g["displayName"]] = g.get("externalId") or _entra_id("group", g["displayName"])
    for g in groups:
        name = g["displayName"]
        if name not in entra_group_id:
            continue
        members = []
        for m in g["members"]:
            if m["value"] in entra_id_of_user:
                members.append(entra_id_of_user[m["value"]])
            elif m["value"] in group_by_id and group_by_id[m["value"]]["displayName"] in entra_group_id:
                members.append(entra_group_id[group_by_id[m["value"]]["displayName"]])
        entra_groups.append({"id": entra_group_id[name], "displayName": ENTRA_RENAMES.get(name, name),
                             "members": members})
    by_name = {g["displayName"]: g for g in entra_groups}
    for old, new in ENTRA_RENAMES.items():
        planted.append({"kind": "renamed_group", "group": new, "databricks_name": old,
                        "detail": "renamed in Entra; group renames do not sync to Databricks"})
    # The seed example: alex and jaya are in Analysts.NonProd in Entra, not yet in Databricks.
    seed_example = [u for u in users if u["userName"] in (_email("alex"), _email("jaya"))]
    by_name["Analysts.NonProd"]["members"] += [u["externalId"] for u in seed_example]
    planted.append({"kind": "sync_pending_membership", "group": "Analysts.NonProd",
                    "users": [u["userName"] for u in seed_example],
                    "detail": "members in Entra, not yet in Databricks (the next provisioning cycle adds them)"})
    nested, parent, source_group, count = ENTRA_NESTED
    nested_people = [u for u in direct_people(source_group) if u["active"]][:count]
    nested_id = _entra_id("group", nested)
    entra_groups.append({"id": nested_id, "displayName": nested, "members": [u["externalId"] for u in nested_people]})
    by_name[parent]["members"].append(nested_id)
    planted.append({"kind": "nested_not_flattened", "group": parent, "nested_group": nested,
                    "users": [u["userName"] for u in nested_people],
                    "detail": "members of a nested group in Entra; the SCIM connector does not flatten nesting"})
    arrived, from_group, count = ENTRA_NEVER_ARRIVED
    arrived_people = [u for u in direct_people(from_group) if u["active"]][:count]
    arrived_id = _entra_id("group", arrived)
    entra_groups.append({"id": arrived_id, "displayName": arrived,
                         "members": [u["externalId"] for u in arrived_people]})
    planted.append({"kind": "group_never_arrived", "group": arrived,
                    "detail": "assigned to the Databricks application; the group is not in the account"})
    for local, _, _, group in (ENTRA_DELETED_IN_CONSOLE, ENTRA_NOT_ASSIGNED):
        by_name[group]["members"].append(extra_people[local]["id"])
    entra_groups.sort(key=lambda g: g["displayName"])

    assigned_groups = {g["displayName"] for g in groups if g.get("_provisioned_by_idp")}
    assigned_groups = {ENTRA_RENAMES.get(n, n) for n in assigned_groups} | {"Analysts.NonProd", arrived}
    id_of_name = {g["displayName"]: g["id"] for g in entra_groups}
    assignments = [{"principalId": id_of_name[n], "principalType": "Group",
                    "principalDisplayName": n} for n in sorted(assigned_groups)]
    for u in entra_users:
        if u["id"] == extra_people[ENTRA_NOT_ASSIGNED[0]]["id"]:
            continue
        assignments.append({"principalId": u["id"], "principalType": "User",
                            "principalDisplayName": u["displayName"]})
    planted.append({"kind": "deleted_in_console", "user": extra_people[ENTRA_DELETED_IN_CONSOLE[0]]["mail"],
                    "detail": "assigned to the Databricks application in Entra; deleted in the account console "
                              "(a deleted user is not re-synced)"})
    planted.append({"kind": "not_assigned", "user": extra_people[ENTRA_NOT_ASSIGNED[0]]["mail"],
                    "group": ENTRA_NOT_ASSIGNED[3],
                    "detail": "in a group Databricks has, but neither the person nor that group is assigned to "
                              "the Databricks application, so never provisioned"})
    tenant = {
        "format": "scimkit-entra-tenant",
        "version": 1,
        "tenant_id": ENTRA_TENANT_ID,
        "domain": DOMAIN,
        "note": "Fixed local credentials of the emulated tenant: not secrets.",
        "clients": [{"client_id": "5c1a1c0d-c11e-4000-8000-000000000001", "client_secret": "entra-scimkit-local",
                     "display_name": "scimkit reader"}],
        "databricks_application": {"id": "5c1a1c0d-5e7a-4000-8000-00000000d8a1",
                                   "appId": "5c1a1c0d-a99d-4000-8000-00000000d8a1",
                                   "displayName": "Azure Databricks SCIM Provisioning Connector",
                                   "assignments": assignments},
        "users": entra_users,
        "groups": entra_groups,
    }

    # -- roster --------------------------------------------------------------------------------
    roster_planted: list[dict[str, Any]] = []
    rows: list[list[str]] = []
    employee = iter(range(10001, 20000))
    for local, name, member_of, workspaces in ROSTER_JOINERS:
        email = _email(local)
        rows.append([email, name, ";".join(member_of), ";".join(workspaces), ROSTER_JOIN_DATE, "", f"E{next(employee)}"])
        roster_planted.append({"kind": "joiner", "user": email, "groups": member_of})
    for old, new in ROSTER_MOVERS:
        u = next(p for p in direct_people(old) if p["active"] and direct_groups(p["id"]) == [old])
        rows.append([u["userName"], u["displayName"], new, "", "2024-04-02", "", f"E{next(employee)}"])
        roster_planted.append({"kind": "mover", "user": u["userName"], "from": old, "to": new})
    for group in ROSTER_LEAVERS:
        u = next(p for p in direct_people(group) if p["active"])
        rows.append([u["userName"], u["displayName"], ";".join(direct_groups(u["id"])), "", "2023-09-01",
                     ROSTER_LEAVE_DATE, f"E{next(employee)}"])
        roster_planted.append({"kind": "leaver", "user": u["userName"], "end_date": ROSTER_LEAVE_DATE})
    for group in ROSTER_UNCHANGED:
        u = next(p for p in direct_people(group) if p["active"])
        workspace = ROSTER_WORKSPACE_MISSING.get(group, "")
        rows.append([u["userName"], u["displayName"], ";".join(direct_groups(u["id"])), workspace, "2022-01-10", "",
                     f"E{next(employee)}"])
        if workspace:
            roster_planted.append({"kind": "workspace_missing", "user": u["userName"], "workspace": workspace,
                                   "detail": "listed in the roster; not reached directly or through a group"})
    direct_ws = [(w["workspace_name"], user_by_id[a["principal_id"]]) for w in docs["workspaces"]
                 for a in w["assignments"] if a["principal_id"] in user_by_id]
    name, u = next((n, u) for n, u in direct_ws if u["active"] and not direct_groups(u["id"]))
    rows.append([u["userName"], u["displayName"], "", ROSTER_WORKSPACE_MOVER_TO, "2021-05-03", "",
                 f"E{next(employee)}"])
    roster_planted.append({"kind": "workspace_mover", "user": u["userName"], "from": name,
                           "to": ROSTER_WORKSPACE_MOVER_TO,
                           "detail": f"the roster lists {ROSTER_WORKSPACE_MOVER_TO}; Databricks has a direct "
                                     f"assignment to {name} only"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_COLUMNS)
    writer.writerows(rows)
    return {"tenant": tenant, "roster": out.getvalue(), "planted_entra": planted, "planted_roster": roster_planted}


def _columns(spec: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "type_name": type_name, "type_text": type_text, "position": i, "nullable": i > 0}
        for i, (name, type_name, type_text) in enumerate(spec)
    ]


def _table(rng: random.Random, full_name: str, table_type: str, owner: str, etl_owner: str) -> dict[str, Any]:
    catalog, schema, name = full_name.split(".")
    # Pipelines create most production tables, so they own them; people and groups own the rest.
    if etl_owner and table_type != "VIEW" and catalog == "datalake" and schema in ("raw", "staging"):
        owner = etl_owner
    entity = name.removeprefix("v_").split("_")[0]
    key = (f"{entity}_id", "LONG", "bigint")
    doc: dict[str, Any] = {"full_name": full_name, "table_type": table_type, "owner": owner}
    if table_type == "EXTERNAL":
        doc["storage_location"] = STORAGE_ROOT.format(container="landing") + f"{schema}/{name}"
    doc["columns"] = _columns([key, *rng.sample(COLUMN_POOL, rng.randint(1, 3))])
    return doc


def _max_depth(groups: list[dict[str, Any]]) -> int:
    """Longest chain of group-in-group memberships, in edges."""
    ids = {g["id"] for g in groups}
    children = {g["id"]: [m["value"] for m in g["members"] if m["value"] in ids] for g in groups}
    memo: dict[str, int] = {}

    def depth(gid: str) -> int:
        if gid not in memo:
            memo[gid] = max((1 + depth(c) for c in children[gid]), default=0)
        return memo[gid]

    return max((depth(g) for g in ids), default=0)


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def generate(out_dir: Path) -> None:
    """Write the seed files into `out_dir` (created if missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = build()
    idp = build_identity_provider(docs)
    docs["manifest"]["drift"] = {
        "entra_tenant": ENTRA_TENANT_FILE, "roster": ROSTER_FILE,
        "planted_entra": idp["planted_entra"], "planted_roster": idp["planted_roster"],
        "roster_as_of": "2026-12-01",
    }
    for key, file_name in {"manifest": "manifest.json", **FILES}.items():
        (out_dir / file_name).write_text(dump(docs[key]), encoding="utf-8")
    (out_dir / ENTRA_TENANT_FILE).write_text(dump(idp["tenant"]), encoding="utf-8")
    (out_dir / ROSTER_FILE).write_text(idp["roster"], encoding="utf-8")
    (out_dir / DESIRED_GRANTS_FILE).write_text(dump(DESIRED_GRANTS), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default: {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
