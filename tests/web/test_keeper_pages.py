"""The keeper's pages in Chromium: receive, issue and count change the stock shown; the
rotation work-list; refusals of an over-issue and an over-transfer in the API's words;
the agreements, quota and readiness tabs; the en switch; a posted document's printed page.

Their own item (KIT, rotated 30 days before expiry) and an unplaced township depot under
CTY, so the map's and the plan's tests see the tiny scenario's ledger as it was.
"""

from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from supply.db import session_scope
from supply.models import DepotCreate, ItemCreate, QuotaCreate, Tier
from supply.services import calloffs
from supply.services.catalogue import upsert_depots, upsert_items
from supply.services.quotas import upsert_quotas
from tests.factories import make_agreement, make_supplier
from tests.web.conftest import Console, artifact
from tests.web.test_console import log_in

TOWN = "KTWN"


@pytest.fixture(scope="module")
def keeper_ledger(console: Console) -> Console:
    """KIT in the catalogue, a township depot below CTY (no position: not planned from),
    its quota of 500 kits, none held, and an agreement for 1,000 more delivered in 48 h
    (beyond the gaps' default hours), 40 of them called off."""
    with session_scope(console.engine) as session:
        upsert_items(
            session,
            [
                ItemCreate(
                    code="KIT",
                    name_zh="急救包",
                    name_en="First-aid kit",
                    category="medical",
                    unit="piece",
                    unit_weight_kg=1.2,
                    unit_volume_m3=0.004,
                    shelf_life_days=730,
                    rotation_lead_days=30,
                )
            ],
        )
        upsert_depots(
            session, [DepotCreate(code=TOWN, name="乡镇库", tier=Tier.TOWNSHIP, parent_code="CTY")]
        )
        upsert_quotas(session, [QuotaCreate(item="KIT", depot=TOWN, qty=500)])
        make_supplier(session, "KSUP")
        make_agreement(
            session,
            "AG-KIT",
            supplier="KSUP",
            item="KIT",
            depot=TOWN,
            qty=1000,
            lead_time_hours=48,
            valid_to=date(2099, 12, 31),
        )
        now = datetime.now().astimezone()
        calloffs.call_off(session, agreement="AG-KIT", qty=40, now=now)
    return console


def _keeper(page: Page, console: Console, tab: str) -> None:
    log_in(page, console, "keeper", "/keeper")
    expect(page.locator("#f-depot option")).not_to_have_count(1)  # the depots arrived
    page.click(f"#tab-{tab}")
    expect(page.locator(f"#panel-{tab}")).to_be_visible()


def _receive(page: Page, qty: int, lot: str, expires_on: date, depot: str = "CTY") -> str:
    page.select_option("#rc-depot", depot)
    page.fill("#rc-item", "KIT")
    page.fill("#rc-qty", str(qty))
    page.fill("#rc-lot", lot)
    page.fill("#rc-expires", expires_on.isoformat())
    page.click("#receive")
    result = page.locator("#receive-result")
    expect(result).to_contain_text("已入库 RC-")
    return result.inner_text().split()[1]


def _stock_of(page: Page, lot: str) -> str:
    """The stock tab filtered to CTY's subtree and KIT: the on-hand cell of `lot`."""
    page.click("#tab-stock")
    page.select_option("#f-depot", "CTY")
    page.fill("#f-item", "KIT")
    page.click("#filter")
    row = page.locator("#balances tbody tr", has_text=lot)
    expect(row).to_have_count(1)
    return row.locator("td").nth(5).inner_text()


def test_a_receipt_an_issue_and_a_count_change_the_stock_shown(
    page: Page, keeper_ledger: Console
) -> None:
    """Received 1,500, issued 200, counted 1,290 on the count sheet (lost): the stock tab
    shows each in the locale's numbers, with the lot's expiry and rotation dates; a count
    that matches the books posts nothing."""
    expires = date.today() + timedelta(days=400)
    _keeper(page, keeper_ledger, "forms")
    _receive(page, 1500, "K-STOCK", expires)
    assert _stock_of(page, "K-STOCK") == "1,500"
    row = page.locator("#balances tbody tr", has_text="K-STOCK")
    rotation = expires - timedelta(days=30)
    expect(row.locator("td").nth(3)).to_have_text(
        f"{expires.year}年{expires.month}月{expires.day}日"
    )
    expect(row.locator("td").nth(4)).to_have_text(
        f"{rotation.year}年{rotation.month}月{rotation.day}日"
    )
    page.click("#tab-forms")
    page.select_option("#i-depot", "CTY")
    page.fill("#i-item", "KIT")
    page.fill("#i-lot", "K-STOCK")
    page.fill("#i-qty", "200")
    page.click("#issue")
    expect(page.locator("#issue-result")).to_contain_text("已出库 IS-")
    assert _stock_of(page, "K-STOCK") == "1,300"
    page.click("#tab-forms")
    page.select_option("#c-depot", "CTY")
    page.fill("#c-filter", "KIT")
    page.click("#count-lots")
    line = page.locator("#count-sheet tbody tr[data-lot='K-STOCK']")
    expect(line.locator("td").nth(3)).to_have_text("1,300")
    line.locator("input.counted").fill("1290")
    line.locator("select.reason").select_option("lost")
    page.click("#count")
    expect(page.locator("#count-result")).to_contain_text("已盘点 ST-")
    assert _stock_of(page, "K-STOCK") == "1,290"
    # Counted again as the books now say: nothing to post, and the page says so.
    page.click("#tab-forms")
    page.click("#count-lots")
    expect(line.locator("td").nth(3)).to_have_text("1,290")
    line.locator("input.counted").fill("1290")
    page.click("#count")
    expect(page.locator("#count-result")).to_have_text("盘点与账面一致，未生成单据")
    page.screenshot(path=artifact("keeper-forms.png"), full_page=True)


def test_rotation_list_shows_the_due_lots(page: Page, keeper_ledger: Console) -> None:
    """A lot expiring in 20 days was due for rotation 10 days ago: listed, overdue; a lot
    expiring in two years is not."""
    soon = date.today() + timedelta(days=20)
    _keeper(page, keeper_ledger, "forms")
    _receive(page, 40, "K-SOON", soon)
    _receive(page, 40, "K-LATER", date.today() + timedelta(days=730))
    page.click("#tab-rotation")
    page.select_option("#r-depot", "CTY")
    page.click("#rotation-show")
    due = page.locator("#rotation tbody tr", has_text="K-SOON")
    expect(due).to_have_count(1)
    expect(due).to_contain_text("已逾期")
    expect(due).to_have_class("overdue")
    expect(page.locator("#rotation tbody tr", has_text="K-LATER")).to_have_count(0)


def test_an_over_issue_and_an_over_transfer_show_the_refusal(
    page: Page, keeper_ledger: Console
) -> None:
    """The API's 409 (库存不足, available and requested) shown as it came, for both."""
    _keeper(page, keeper_ledger, "forms")
    page.select_option("#i-depot", "CTY")
    page.fill("#i-item", "KIT")
    page.fill("#i-qty", "9000000")
    page.click("#issue")
    issue = page.locator("#issue-result")
    expect(issue).to_contain_text("库存不足 Insufficient stock")
    expect(issue).to_contain_text("requested 9000000")
    expect(issue).to_have_class("error")
    page.select_option("#t-source", "CTY")
    page.select_option("#t-destination", TOWN)
    page.fill("#t-item", "KIT")
    page.fill("#t-qty", "8000000")
    page.click("#transfer")
    transfer = page.locator("#transfer-result")
    expect(transfer).to_contain_text("库存不足 Insufficient stock")
    expect(transfer).to_contain_text("requested 8000000")


def test_the_work_lists_read_the_api(page: Page, keeper_ledger: Console) -> None:
    """The agreement and its call-off expected; the township's quota gap, closed when the
    agreement's 48 hours count; readiness against a norm typed in, an unknown item's
    refusal too: each tab draws what the API answers. Then the call-off's goods arrive."""
    _keeper(page, keeper_ledger, "agreements")
    agreement = page.locator("#agreements tbody tr", has_text="AG-KIT")
    expect(agreement.locator("td")).to_have_text(
        [
            "AG-KIT",
            "supplier KSUP",
            "KIT",
            TOWN,
            "有效",
            "960",
            "48 小时",
            "2099年12月31日",
            "never inspected (due every 90 days)",
        ]
    )
    expect(agreement).to_have_class("flagged")  # never inspected
    expected = page.locator("#expected tbody tr", has_text="AG-KIT")
    expect(expected.locator("td").nth(5)).to_have_text("40")
    page.click("#tab-quotas")
    gap = page.locator("#gaps tbody tr", has_text=TOWN)
    expect(gap).to_have_class("short")
    expect(gap.locator("td")).to_have_text(
        [TOWN, "乡镇库", "KIT", "500", "0", "0", "0", "500", "不足"]
    )
    page.fill("#g-hours", "72")
    page.click("#gaps-show")
    expect(gap.locator("td").last).to_have_text("达标")
    page.fill("#n-norms", "NOPE,1,day")
    page.click("#readiness-show")
    expect(page.locator("#readiness-error")).to_contain_text("NOPE")
    page.fill("#n-norms", "QUILT,1,once")
    page.click("#readiness-show")
    expect(page.locator("#readiness-error")).to_have_text("")
    expect(page.locator("#readiness tbody tr", has_text="CTY")).to_have_count(1)
    page.screenshot(path=artifact("keeper-quotas.png"), full_page=True)
    # The call-off's goods arrive: received into the township depot, no longer expected;
    # the service's refusal first, as it came.
    page.click("#tab-agreements")
    arrival = page.locator("#expected form[data-call-off]")
    arrival.locator("input[name=lot]").fill("K-CALLED")
    arrival.locator("button").click()  # without the expiry a kit must have: refused
    expect(page.locator("#expected-result")).to_contain_text("give the expiry")
    arrival.locator("input[name=expires_on]").fill((date.today() + timedelta(days=700)).isoformat())
    arrival.locator("button").click()
    expect(page.locator("#expected-result")).to_contain_text("已入库 CO-")
    expect(page.locator("#expected-result")).to_contain_text("RC-")
    expect(page.locator("#expected tbody")).to_have_text("无")
    assert _stock_of(page, "K-CALLED") == "40"


def test_the_en_switch_changes_the_keeper_labels(page: Page, keeper_ledger: Console) -> None:
    """Tabs, headings and buttons in English, on the tab that was shown."""
    _keeper(page, keeper_ledger, "forms")
    tabs = page.locator(".tabs")
    expect(tabs).to_contain_text("轮换清单")
    page.click("#lang-switch")
    expect(tabs).to_contain_text("Rotation")
    expect(page.locator("#panel-forms")).to_be_visible()
    expect(page.locator("#panel-forms h2").first).to_have_text("Receive")
    expect(page.locator("#count")).to_have_text("Post the count")
    expect(page.locator("#balances thead")).to_contain_text("Rotation due")
    page.click("#tab-stock")
    page.screenshot(path=artifact("keeper-stock-en.png"), full_page=True)


def test_a_printed_document_opens(page: Page, keeper_ledger: Console) -> None:
    """A receipt's print button opens its A4 page (title, number, lines) in a new tab, its
    own stylesheet allowed by the console's policy."""
    _keeper(page, keeper_ledger, "forms")
    number = _receive(page, 12, "K-PRINT", date.today() + timedelta(days=300))
    with page.expect_popup() as opened:
        page.click("#receive-result button.print")
    printed = opened.value
    expect(printed.locator("h1")).to_contain_text("入库单")
    expect(printed.locator(".number")).to_contain_text(number)
    expect(printed.locator("tr.line")).to_have_attribute("data-lot", "K-PRINT")
    printed.screenshot(path=artifact("keeper-printed-receipt.png"))
    # _page.css spaces the title's letters: the inline stylesheet was applied.
    assert printed.locator("h1").evaluate("h => getComputedStyle(h).letterSpacing") != "normal"
    # The documents tab lists it, and prints a number typed in.
    page.click("#tab-documents")
    expect(page.locator("#posted tbody tr").first).to_contain_text(number)
    page.fill("#p-number", "RC-999999")
    with page.expect_popup() as refused:
        page.click("#print-number")
    expect(page.locator("#print-error")).to_contain_text("RC-999999")
    if not refused.value.is_closed():  # the empty tab opened for it is closed again
        refused.value.wait_for_event("close")
