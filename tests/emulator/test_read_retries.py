"""Idempotent reads are retried with backoff; a class that keeps failing stops early and says so."""

from __future__ import annotations

import requests

from scimkit import identities
from scimkit.catalog import read_catalog
from scimkit.emulator import Emulator
from scimkit.limits import RateLimits
from scimkit.parallel import RetryPolicy, run_concurrently

from .test_catalog import make_account


def _fault(emu: Emulator, spec: str) -> None:
    r = requests.post(f"{emu.host}/_scimkit/faults", json={"spec": spec},
                      headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
    assert r.status_code == 200, r.text


def test_a_transient_500_on_one_grants_read_is_retried_and_the_read_is_complete(emu: Emulator) -> None:
    _fault(emu, r"GET:/permissions/table/datalake\.finance\.transactions$:500:1")
    _fault(emu, "GET:/Groups/[0-9]+$:503:1")
    account = make_account(emu, retry_timeout_seconds=10, limits=RateLimits(scale=20))
    read = read_catalog(account, progress=False)
    assert read.failures == [] and read.complete
    assert emu.stats()["faults_injected"] >= 1
    ident = identities.read_identities(account, progress=False)
    assert ident.failures == []


def test_a_grants_class_that_429s_forever_stops_early_and_says_so(emu: Emulator) -> None:
    _fault(emu, "GET:/permissions/:429:*")
    account = make_account(emu, retry_timeout_seconds=2, limits=RateLimits(scale=20))
    read = read_catalog(account, workers=2, progress=False)
    grants = [f for f in read.failures if f.object_type == "grants"]
    securables = len(read.securables)
    assert len(grants) == securables > 10  # every securable's grants are reported missing...
    skipped = [f for f in grants if f.error.startswith("Skipped: the w.grants.get reads stopped early")]
    assert len(skipped) >= securables - 4  # ...but only the reads in flight waited out the SDK's retries
    assert all("the SDK's retries gave up" in f.error and "REQUEST_LIMIT_EXCEEDED" in f.error for f in skipped)
    # about two attempts (Retry-After 1 s within a 2 s budget) per read actually sent, not one per securable
    assert emu.stats()["faulted"]["uc-grants-read"] <= 4 * 3
    assert [s for s in read.securables if s.securable_type == "TABLE"]  # the other classes were read


def test_the_policy_stops_after_failures_in_a_row_and_keeps_the_order() -> None:
    calls: list[int] = []

    def call(i: int) -> int:
        calls.append(i)
        if i >= 3:
            raise ConnectionError("reset by peer")
        return i * 10

    outcome = run_concurrently(range(20), call, limits=RateLimits(scale=100), rate_class="uc-list",
                               object_type="thing", name=str, operation="things.get", workers=1, progress=False,
                               retry=RetryPolicy(attempts=2, base_delay_s=0.01, trip_after=3))
    assert outcome.results == [(0, 0), (1, 10), (2, 20)]
    assert len(outcome.failures) == 17
    assert calls.count(3) == 2  # retried once (attempts=2), then given up
    assert len(calls) == 3 + 3 * 2  # three items failed in a row: the rest were not tried
    assert outcome.failures[-1].error.startswith("Skipped: the things.get reads stopped early, 3 reads in a row")


def test_client_errors_are_not_retried() -> None:
    from databricks.sdk.errors import NotFound

    calls: list[int] = []

    def call(i: int) -> int:
        calls.append(i)
        raise NotFound("gone")

    outcome = run_concurrently([1], call, limits=RateLimits(scale=100), rate_class="uc-list", object_type="x",
                               name=str, operation="x.get", workers=1, progress=False)
    assert calls == [1] and "NotFound" in outcome.failures[0].error
