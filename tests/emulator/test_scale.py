"""Large accounts: the SDK's default paging must terminate and return everything once."""

from __future__ import annotations

from benchmarks.synthetic_seed import write_users_seed
from scimkit.emulator import start


def test_listing_10000_users_with_default_paging_completes(tmp_path) -> None:
    with start(seed_dir=write_users_seed(tmp_path / "seed", users=10_000)) as emu:
        a = emu.account_client(retry_timeout_seconds=30)
        users = list(a.users.list(attributes="id,userName"))
        assert len(users) == 10_000 and len({u.id for u in users}) == 10_000
        v2 = list(a.users_v2.list(attributes="id"))
        assert len(v2) == 10_000
        # 100 pages of 100 and the empty page that ends each listing.
        assert emu.stats()["requests"]["scim-list"] == 2 * 101
