"""The console's words, Chinese first: one catalogue for the templates and the scripts.

A dict, not gettext: some sixty short labels in two languages, read by Jinja and sent to
the browser as JSON so the scripts label what they draw with the same words.
"""

from typing import Literal

from api.http.web.messages_dispatch import DISPATCH_PAIRS
from api.http.web.messages_keeper import KEEPER_PAIRS

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"
#: BCP 47 tags for the browser's number and date formats (Intl).
LOCALES: dict[Lang, str] = {"zh": "zh-CN", "en": "en-GB"}

_PAIRS: dict[str, tuple[str, str]] = {
    "app_title": ("应急物资一张图", "Relief supply: the one map"),
    "nav_map": ("一张图", "Map"),
    "nav_dispatch": ("调度", "Dispatch"),
    "nav_keeper": ("库存", "Stock"),
    "logout": ("退出", "Log out"),
    "switch_lang": ("English", "中文"),
    "login_title": ("登录", "Log in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login": ("登录", "Log in"),
    "login_failed": ("用户名或密码错误", "Wrong user name or password"),
    "scenario": ("情景", "Scenario"),
    "plan": ("调度方案", "Plan"),
    "no_plan": ("（无方案）", "(no plan)"),
    "layers": ("图层", "Layers"),
    "layer_depots": ("储备库", "Depots"),
    "layer_shelters": ("安置点", "Shelters"),
    "layer_roads": ("道路", "Roads"),
    "layer_tours": ("车辆路线", "Truck tours"),
    "legend": ("图例", "Legend"),
    "tier_province": ("省级库", "Provincial depot"),
    "tier_city": ("市级库", "City depot"),
    "tier_county": ("县级库", "County depot"),
    "tier_township": ("乡镇库", "Township depot"),
    "tier_village": ("村级点", "Village point"),
    "tier_agreement": ("协议供应商", "Agreement supplier"),
    "cov_on_time": ("按时保障", "Served on time"),
    "cov_late": ("迟到", "Late"),
    "cov_unmet": ("未满足", "Unmet"),
    "cov_unreachable": ("无法到达", "Unreachable"),
    "cov_unplanned": ("未纳入方案", "Not planned"),
    "road_open": ("通行", "Open"),
    "road_damaged": ("受损", "Damaged"),
    "road_closed": ("中断", "Closed"),
    "residents": ("安置人数", "Residents"),
    "stock": ("库存", "Stock"),
    "item": ("物资", "Item"),
    "lot": ("批次", "Lot"),
    "qty": ("数量", "Quantity"),
    "expires_on": ("有效期至", "Expires on"),
    "need": ("需求", "Need"),
    "on_time": ("按时", "On time"),
    "late": ("迟到", "Late"),
    "unmet": ("缺口", "Unmet"),
    "arrivals": ("到达", "Arrivals"),
    "first_arrival": ("首批到达", "First arrival"),
    "last_arrival": ("最后到达", "Last arrival"),
    "hours": ("小时", "h"),
    "reasons": ("原因", "Reasons"),
    "no_reasons": ("无短缺", "Nothing short"),
    "vehicle": ("车辆", "Vehicle"),
    "trip": ("趟次", "Trip"),
    "stop": ("停靠", "Stop"),
    "depart": ("出发", "Departs"),
    "manifest": ("装载清单", "Manifest"),
    "shelter": ("安置点", "Shelter"),
    "depot": ("储备库", "Depot"),
    "count": ("数量", "Count"),
    "fleet": ("车队", "Fleet"),
    "shipped": ("调出", "Shipped"),
    "close": ("关闭", "Close"),
    "loading": ("加载中…", "Loading…"),
    "start_plan": ("开始编制方案", "Start a plan"),
    "with_routes": ("规划车辆路线", "Plan truck tours"),
    "from_ledger": ("使用台账库存", "Stock from the ledger"),
    "time_limit": ("时限（秒）", "Time limit (s)"),
    "progress": ("进度", "Progress"),
    "status": ("状态", "Status"),
    "headline": ("概要", "Headline"),
    "served": ("按时保障人数", "Residents served on time"),
    "bound": ("上界", "Bound"),
    "gap": ("差距", "Gap"),
    "worst_served": ("保障最差的安置点", "Worst-served shelters"),
    "share": ("按时比例", "On-time share"),
    "approve": ("批准方案", "Approve the plan"),
    "approved": ("已批准", "Approved"),
    "view_on_map": ("在一张图中查看", "View on the map"),
    "depot_filter": ("储备库（含下级）", "Depot (and those below)"),
    "item_filter": ("物资编码", "Item code"),
    "expires_after": ("有效期不早于", "Expiring on or after"),
    "expires_before": ("有效期不晚于", "Expiring on or before"),
    "filter": ("筛选", "Filter"),
    "available": ("可用", "Available"),
    "reserved": ("已预留", "Reserved"),
    "on_hand": ("在库", "On hand"),
    "issue_title": ("出库", "Issue"),
    "issue": ("出库", "Issue"),
    "issued": ("已出库", "Issued"),
    "refused": ("被拒绝", "Refused"),
    "none": ("无", "None"),
    "size_by": ("储备库大小按", "Depot size by"),
    "all_stock": ("全部库存", "All stock"),
    # The planner's reasons are English sentences led by a cause; the console names the
    # cause in the chosen language before them (optimizer/coverage.py).
    "reason_unreachable": ("无法到达", "Unreachable"),
    "reason_no_stock": ("无库存", "No stock"),
    "reason_no_vehicle": ("无车辆", "No vehicle"),
    "reason_deadline": ("超时限", "Deadline"),
    "reason_fleet_capacity": ("运力不足", "Fleet capacity"),
    "reason_shortage": ("物资不足", "Shortage"),
    "first_batch": ("首批到达达标（按库级）", "First batch on target (by tier)"),
    "job_queued": ("排队中", "Queued"),
    "job_running": ("计算中", "Running"),
    "job_done": ("完成", "Done"),
    "job_failed": ("失败", "Failed"),
    "job_cancelled": ("已取消", "Cancelled"),
    "job_lost": ("已丢失", "Lost"),
}

#: The shared words, then each area's own (a key defined twice is an error, below).
_ALL: dict[str, tuple[str, str]] = {**_PAIRS, **KEEPER_PAIRS, **DISPATCH_PAIRS}
if len(_ALL) != len(_PAIRS) + len(KEEPER_PAIRS) + len(DISPATCH_PAIRS):
    raise RuntimeError("a console message key is defined in two catalogues")

MESSAGES: dict[Lang, dict[str, str]] = {
    "zh": {key: zh for key, (zh, _en) in _ALL.items()},
    "en": {key: en for key, (_zh, en) in _ALL.items()},
}


def lang_of(value: str | None) -> Lang:
    """The console's language for a query or cookie value; Chinese when absent or unknown."""
    return "en" if value == "en" else DEFAULT_LANG
