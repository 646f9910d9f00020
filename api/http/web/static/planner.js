// The planner: residents served on time per scenario, from each scenario's latest finished
// plan job, as a bar chart drawn with SVG elements (no chart library, nothing from a CDN).
"use strict";
(() => {
  const { t, api, num, percent, el, svg, config } = Relief;
  Relief.requireLogin();
  const $ = (id) => document.getElementById(id);

  async function all(path) {
    // Every page of a cursor-paginated list.
    const rows = [];
    let cursor = null;
    do {
      const answer = await api(path + "?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      if (!answer.ok) throw new Error(await Relief.problem(answer));
      const page = await answer.json();
      rows.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return rows;
  }

  // A label that fits left of the bars: a variant keeps its hash, the end of its name.
  const short = (name) => (name.length > 28 ? "…" + name.slice(-27) : name);

  // One bar per scenario: the total residents (pale) behind those served on time.
  function chart(rows) {
    const bar = 26, gap = 10, left = 220, width = 760, right = 90;
    const height = rows.length * (bar + gap) + gap;
    const most = Math.max(1, ...rows.map((r) => r.total));
    const scale = (v) => ((width - left - right) * v) / most;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": t("residents_served") });
    rows.forEach((r, i) => {
      const y = gap + i * (bar + gap);
      const g = svg("g", { class: "bar", "data-scenario": r.scenario });
      g.append(
        svg("text", { x: left - 8, y: y + bar * 0.7, "text-anchor": "end", class: "label" }, short(r.scenario)),
        svg("rect", { x: left, y, width: scale(r.total), height: bar, class: "total" }),
        svg("rect", { x: left, y, width: scale(r.served), height: bar, class: "served" }),
        svg("text", { x: left + scale(r.total) + 6, y: y + bar * 0.7, class: "value" }, num(r.served) + " (" + percent(r.total ? r.served / r.total : 0) + ")")
      );
      g.append(svg("title", {}, `${r.scenario}: ${num(r.served)} / ${num(r.total)}`));
      root.append(g);
    });
    $("chart").replaceChildren(root);
    $("chart").dataset.bars = String(rows.length);
  }

  async function show() {
    const [jobs, scenarios] = await Promise.all([all("/plans"), api("/scenarios").then((a) => a.json())]);
    const latest = new Map();
    for (const job of jobs) {
      if (job.status !== "done") continue;
      const seen = latest.get(job.scenario);
      if (!seen || job.id > seen.id) latest.set(job.scenario, job);
    }
    const rows = [];
    for (const s of scenarios) {
      const job = latest.get(s.name);
      if (!job) continue;
      const answer = await api(job.plan_href);
      if (!answer.ok) continue;
      const k = (await answer.json()).kpis || {};
      const title = config.lang === "zh" ? s.title_zh : s.title_en || s.title_zh;
      rows.push({ scenario: s.name, title, job: job.id, served: k.residents_served_on_time || 0, total: k.residents_total || 0 });
    }
    chart(rows);
    $("compare").tBodies[0].replaceChildren(
      ...(rows.length
        ? rows.map((r) =>
            el(
              "tr",
              {},
              el("td", {}, r.scenario + " — " + r.title),
              el("td", {}, el("a", { href: "/dispatch?job=" + r.job }, "#" + r.job)),
              el("td", { class: "n" }, num(r.served)),
              el("td", { class: "n" }, num(r.total)),
              el("td", { class: "n" }, percent(r.total ? r.served / r.total : 0))
            )
          )
        : [el("tr", {}, el("td", { colspan: "5" }, t("no_plans_yet")))])
    );
  }
  show();
})();
