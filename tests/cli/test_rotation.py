"""`relief rotation due`, `relief rotation rotate` and `relief stock write-off`."""

import json
from datetime import date, timedelta

from tests.cli.harness import Relief


def test_rotation_due_json_lists_batches_soonest_first(ledger: Relief) -> None:
    """Batches whose rotation date (expiry − 60 days) is within the window, with days left;
    durable goods never appear."""
    today = date.today()
    soon = today + timedelta(days=70)  # rotation due in 10 days
    later = today + timedelta(days=100)  # due in 40 days
    ledger.post(
        "stock",
        "receive",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--qty",
        "5",
        "--lot",
        "LATER",
        "--expires",
        later.isoformat(),
    )
    ledger.post(
        "stock",
        "receive",
        "--depot",
        "TWN",
        "--item",
        "WATER",
        "--qty",
        "3",
        "--lot",
        "SOON",
        "--expires",
        soon.isoformat(),
    )
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "2", "--lot", "T1"
    )
    rows = json.loads(ledger.ok("rotation", "due", "--within", "30", "--json").stdout)
    assert [(r["lot"], r["qty"], r["days_left"]) for r in rows] == [("SOON", 3, 10)]
    rows = json.loads(ledger.ok("rotation", "due", "--within", "90", "--json").stdout)
    assert [r["lot"] for r in rows] == ["SOON", "LATER"]
    assert set(rows[0]) >= {
        "depot",
        "item",
        "lot",
        "qty",
        "expires_on",
        "rotation_due",
        "days_left",
    }
    sub = json.loads(
        ledger.ok(
            "rotation", "due", "--depot", "TWN", "--subtree", "--json", "--within", "90"
        ).stdout
    )
    assert [r["lot"] for r in sub] == ["SOON"]


def test_rotate_and_write_off_from_the_cli(ledger: Relief) -> None:
    """Rotating replaces the lot; writing off needs a known reason; verify stays clean."""
    expires = (date.today() + timedelta(days=40)).isoformat()
    ledger.post(
        "stock",
        "receive",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--qty",
        "8",
        "--lot",
        "OLD",
        "--expires",
        expires,
    )
    new = (date.today() + timedelta(days=700)).isoformat()
    ledger.post(
        "rotation",
        "rotate",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--lot",
        "OLD",
        "--reason",
        "donated",
        "--new-lot",
        "NEW",
        "--new-qty",
        "8",
        "--new-expires",
        new,
    )
    assert ledger.on_hand() == {("CNTY", "WATER", "NEW"): 8}
    bad = ledger(
        "stock",
        "write-off",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--lot",
        "NEW",
        "--reason",
        "whatever",
    )
    assert bad.exit_code == 2
    assert "reason" in bad.stderr
    ledger.post(
        "stock",
        "write-off",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--lot",
        "NEW",
        "--qty",
        "3",
        "--reason",
        "damaged",
    )
    assert ledger.on_hand() == {("CNTY", "WATER", "NEW"): 5}
    ledger.ok("stock", "verify")
