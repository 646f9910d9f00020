"""The dispatcher's and planner's pages' words, Chinese first.

Kept apart from the shared catalogue so each area of the console adds its words in its own
file; `messages.py` joins them and refuses a key defined twice.

The `why_*` sentences put the planner's reasons (English, led by a cause: see
optimizer/coverage.py and optimizer/routing/plan_tours.py) into a sentence each; `{0}`,
`{1}` are what the reason names (hours, depots), in its order. console.js matches them.
The `compare_*` words are the planner's comparison of siting networks (compare.js); its
refusals name the file first, then what is wrong.
"""

DISPATCH_PAIRS: dict[str, tuple[str, str]] = {
    "nav_planner": ("规划", "Planning"),
    "trucks": ("车辆执行", "Trucks on the road"),
    "dispatch_plan": ("调度单", "Dispatch plan"),
    "depart_trip": ("发车", "Depart"),
    "deliver_stop": ("送达", "Delivered"),
    "cancel_plan": ("撤销方案", "Cancel the plan"),
    "arrival": ("预计到达", "Expected arrival"),
    "load_reserved": ("已预留", "Reserved"),
    "load_in_transit": ("在途", "On the road"),
    "load_delivered": ("已送达", "Delivered"),
    "load_released": ("已释放", "Released"),
    "plan_approved": ("执行中", "Approved"),
    "plan_completed": ("已完成", "Completed"),
    "plan_cancelled": ("已撤销", "Cancelled"),
    "posted": ("已过账", "Posted"),
    "why_cut_off": ("通往该安置点的道路全部中断，无法送达。", "Every road to it is closed."),
    "why_no_stock": ("没有储备库或协议供应商持有这些物资。", "Nobody holds the items."),
    "why_unreachable": (
        "持有这些物资的储备库都无法经道路到达该安置点。",
        "No source holding them can reach it by road.",
    ),
    "why_no_vehicle": ("持有这些物资的储备库没有车辆。", "Their depots have no fleet."),
    "why_deadline": ("最快也要 {0} 小时才能送到，超过时限。", "The soonest is {0} h: too late."),
    "why_fleet_capacity": (
        "{0} 的车辆在 {1} 小时内已全部满载。",
        "Vehicles of {0} are full by {1} h.",
    ),
    "why_shortage": (
        "{0} 小时内能送到的物资已全部分配给其他安置点。",
        "All that can arrive by {0} h is allocated.",
    ),
    "why_not_routed": ("车辆路线未能按时送到：{0}。", "Not routed in time: {0}."),
    "why_routing": (
        "车辆路线的实际到达时间晚于分配时的估计。",
        "The tours arrive later than the allocation assumed.",
    ),
    "why_on_time": ("按时到达/需求：{0}", "on time / need: {0}"),
    "why_critical": ("（* 为关键物资）", "(* critical item)"),
    "variant": ("情景变体", "Scenario variant"),
    "variant_upload": ("上传安置点与道路中断（xlsx）", "Upload shelters and road closures (xlsx)"),
    "variant_file": ("xlsx 文件", "xlsx file"),
    "variant_make": ("生成变体", "Make the variant"),
    "variant_made": ("已生成情景变体", "Variant made"),
    "close_roads": ("道路中断后重新规划", "Re-plan after roads close"),
    "roads_to_close": ("中断的道路（编号，逗号分隔）", "Roads closed (ids, comma-separated)"),
    "replan": ("关闭道路并重新规划", "Close and re-plan"),
    "planner_title": ("情景比较", "Compare scenarios"),
    "residents_served": (
        "按时保障人数（各情景最新方案）",
        "Residents served on time (latest plan)",
    ),
    "residents_total": ("安置总人数", "Residents in all"),
    "no_plans_yet": ("尚无已完成的方案", "No finished plan yet"),
    "latest_job": ("最新方案", "Latest plan"),
    "compare_title": ("比较选址方案", "Compare siting networks"),
    "compare_hint": (
        "选择一个或多个 evaluation.json 或 siting.json 文件（relief siting evaluate / solve "
        "的结果）；文件只在浏览器中读取，不上传、不保存。",
        "Choose one or more evaluation.json or siting.json files (from relief siting "
        "evaluate / solve); they are read in the browser, never uploaded or stored.",
    ),
    "compare_files": ("方案文件", "Network files"),
    "compare_chart": (
        "各情景按时保障人数（每个方案一条）",
        "Residents served on time per scenario, one bar per network",
    ),
    "compare_network": ("方案", "Network"),
    "compare_today": ("现有网络", "Today's network"),
    "compare_file": ("文件", "File"),
    "compare_expected": ("期望按时保障人数", "Expected residents served"),
    "compare_share": ("期望比例", "Expected share"),
    "compare_worst": ("最差情景", "Worst scenario"),
    "compare_sites": ("启用站点", "Sites opened"),
    "compare_none": ("尚未选择文件", "No file chosen yet"),
    "compare_not_json": ("不是有效的 JSON（{0}）", "not valid JSON ({0})"),
    "compare_not_document": (
        "既不是 evaluation.json 也不是 siting.json（没有 networks 或 expected_served）",
        "neither an evaluation.json nor a siting.json (no networks, no expected_served)",
    ),
    "compare_bad_field": ("字段 {0} 缺失或不是{1}", "field {0} is missing or not {1}"),
    "compare_unknown_network": ("{0}：{1} 不在 networks 中", "{0}: {1} is not in networks"),
    "compare_no_network": ("没有任何方案", "holds no network"),
    "compare_too_large": ("文件大于 {0} MB", "larger than {0} MB"),
    "compare_unreadable": ("无法读取（{0}）", "cannot be read ({0})"),
    "compare_kind_number": ("数字", "a number"),
    "compare_kind_string": ("文本", "a string"),
    "compare_kind_boolean": ("真/假值", "true or false"),
    "compare_kind_list": ("列表", "a list"),
    "compare_kind_object": ("对象", "an object"),
    "solve_optimal": ("最优（已证明）", "Optimal (proven)"),
    "solve_feasible": ("可行", "Feasible"),
    "solve_infeasible": ("不可行", "Infeasible"),
    "solve_timed_out": ("超时未解出", "Timed out"),
}
