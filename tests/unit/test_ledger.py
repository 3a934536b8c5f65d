"""The ledger is generated from the route tables; the committed copy must be current."""

from pathlib import Path

from scimkit.emulator import app, ledger


def test_committed_ledger_is_current() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "emulator-ledger.md"
    assert committed.read_text() == ledger.render(), "run: python -m scimkit.emulator.ledger"


def test_every_route_is_in_the_ledger() -> None:
    text = ledger.render()
    for route in app.all_routes():
        path = route.path.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert f"`{path}`" in text
