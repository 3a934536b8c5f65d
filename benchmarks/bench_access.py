"""Time and memory of the access analysis on a synthetic account (benchmarks/synthetic_account.py):
transitive memberships, effective grants and usability. Target: under 20 s and 2 GB on two cores.

    python -m benchmarks.bench_access [--strings]

`--strings` builds effective_grants with the schema's string columns instead of categoricals.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from benchmarks.synthetic_account import synthetic_account
from scimkit.access import effective_grants, effective_owners, transitive_memberships, usability


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", action="store_true", help="string columns instead of categoricals")
    parser.add_argument("--level", choices=["schema", "object"], default="schema")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    tables = synthetic_account()
    t_gen = time.perf_counter() - t0
    base_mb = _rss_mb()
    print(" ".join(f"{k}={len(v):,}" for k, v in tables.items()), f"(generated in {t_gen:.1f} s)")

    timings: dict[str, float] = {}
    start = time.perf_counter()
    t = time.perf_counter()
    trans = transitive_memberships(tables["memberships"], categorical=not args.strings)
    timings["transitive_memberships"] = time.perf_counter() - t
    t = time.perf_counter()
    eff = effective_grants(
        tables["grants"], trans, tables["users"], tables["service_principals"], categorical=not args.strings
    )
    timings["effective_grants"] = time.perf_counter() - t
    t = time.perf_counter()
    owners = effective_owners(tables["securables"], trans, categorical=not args.strings)
    timings["effective_owners"] = time.perf_counter() - t
    t = time.perf_counter()
    use = usability(eff, tables["securables"], owners, level=args.level, categorical=not args.strings)
    timings["usability"] = time.perf_counter() - t
    total = time.perf_counter() - start

    for name, seconds in timings.items():
        print(f"{name:24s} {seconds:6.2f} s")
    print(
        f"rows: transitive={len(trans):,} effective={len(eff):,} owners={len(owners):,} "
        f"usability={len(use):,} (unusable {int((~use['usable']).sum()):,})"
    )
    # deep sizes count shared Python strings once per cell, so object frames are sized shallowly
    mem = sum(df.memory_usage(deep=not args.strings).sum() for df in (trans, eff, owners, use)) / 2**20
    print(
        f"total {total:.2f} s; peak RSS {_rss_mb():,.0f} MB (after generating: {base_mb:,.0f} MB); "
        f"result frames {mem:,.0f} MB{' (shallow)' if args.strings else ''}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
