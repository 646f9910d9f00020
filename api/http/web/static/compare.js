// The planner's comparison of siting networks: evaluation.json and siting.json files (from
// `relief siting evaluate` and `relief siting solve`) chosen from the planner's disk and read
// in the browser with FileReader, so nothing goes to the server and nothing is stored. Per
// scenario one bar per network (grouped, SVG built element by element), a legend, and per
// network a row: expected residents served, the worst scenario, the sites opened.
// A file that is not such a document is refused by name, saying what is wrong; the others
// are still drawn.
"use strict";
(() => {
  const { t, num, percent, el, svg } = Relief;
  const $ = (id) => document.getElementById(id);
  /** Bigger files are refused before reading: a 200-scenario evaluation is under 1 MB. */
  const MAX_MB = 50;
  /** Colours in console.css (.net-0 ... .net-7), reused in turn beyond eight networks. */
  const COLOURS = 8;

  class Refusal extends Error {}
  const say = (key, ...values) => t(key).replace(/\{(\d)\}/g, (_m, i) => String(values[Number(i)] ?? ""));

  // One field of a document, of the kind expected, or a refusal naming it (path and kind).
  const KINDS = {
    number: (v) => typeof v === "number" && Number.isFinite(v),
    string: (v) => typeof v === "string",
    boolean: (v) => typeof v === "boolean",
    list: (v) => Array.isArray(v),
    object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  };
  function need(value, key, kind, where) {
    const v = value[key];
    if (!KINDS[kind](v)) throw new Refusal(say("compare_bad_field", where + key, t("compare_kind_" + kind)));
    return v;
  }
  function record(value, where) {
    if (!KINDS.object(value)) throw new Refusal(say("compare_bad_field", where, t("compare_kind_object")));
    return value;
  }

  // A network's figures: per scenario served and total, and its worst scenario (lowest share;
  // a scenario without residents counts as fully served, as `optimizer/siting` counts it).
  function network(name, file, served, total, sites) {
    return { name, file, served, total, sites, scenarios: new Map(), worst: null };
  }
  function finish(net) {
    for (const [scenario, s] of net.scenarios) {
      const share = s.total ? s.served / s.total : 1;
      if (!net.worst || share < net.worst.share) net.worst = { scenario, share };
    }
    return net;
  }

  function fromEvaluation(doc, file) {
    const nets = new Map();
    for (const [name, a] of Object.entries(need(doc, "networks", "object", ""))) {
      const where = `networks.${name}.`;
      record(a, where.slice(0, -1));
      nets.set(name, network(name, file, need(a, "expected_served", "number", where), need(a, "expected_total", "number", where), null));
    }
    need(doc, "scenarios", "list", "").forEach((r, i) => {
      const where = `scenarios[${i}].`;
      record(r, where.slice(0, -1));
      const name = need(r, "network", "string", where);
      const net = nets.get(name);
      if (!net) throw new Refusal(say("compare_unknown_network", where + "network", name));
      net.scenarios.set(need(r, "scenario", "string", where), {
        served: need(r, "residents_served", "number", where),
        total: need(r, "residents_total", "number", where),
      });
    });
    return [...nets.values()].map(finish);
  }

  function fromSiting(doc, file) {
    let sites = null;
    if (doc.sites !== undefined) {
      sites = need(doc, "sites", "list", "").filter((s, i) => need(record(s, `sites[${i}]`), "opened", "boolean", `sites[${i}].`)).length;
    }
    const name = typeof doc.name === "string" && doc.name ? doc.name : file;
    const net = network(name, file, need(doc, "expected_served", "number", ""), need(doc, "expected_total", "number", ""), sites);
    need(doc, "scenarios", "list", "").forEach((r, i) => {
      const where = `scenarios[${i}].`;
      record(r, where.slice(0, -1));
      net.scenarios.set(need(r, "name", "string", where), {
        served: need(r, "residents_served", "number", where),
        total: need(r, "residents_total", "number", where),
      });
    });
    return [finish(net)];
  }

  // The document's networks, told apart as `relief siting compare` tells them apart.
  function parse(text, file) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Refusal(say("compare_not_json", e.message));
    }
    let nets;
    if (KINDS.object(doc) && "networks" in doc) nets = fromEvaluation(doc, file);
    else if (KINDS.object(doc) && "expected_served" in doc) nets = fromSiting(doc, file);
    else throw new Refusal(t("compare_not_document"));
    if (!nets.length) throw new Refusal(t("compare_no_network"));
    return nets;
  }

  function read(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsText(file, "utf-8");
    });
  }

  const named = (net) => (net.name === "today" ? t("compare_today") : net.name);
  const label = (net) => (net.name === net.file ? net.file : named(net) + " — " + net.file);
  const short = (name) => (name.length > 28 ? "…" + name.slice(-27) : name);

  // Per scenario (in the order first met) a group of bars, one per network holding it: the
  // scenario's residents (pale) behind those served on time.
  function chart(nets) {
    const scenarios = [...new Set(nets.flatMap((n) => [...n.scenarios.keys()]))];
    const bar = 14, inner = 2, gap = 14, left = 220, width = 760, right = 110;
    const groups = scenarios.map((scenario) => ({ scenario, held: nets.filter((n) => n.scenarios.has(scenario)) }));
    const height = groups.reduce((h, g) => h + g.held.length * (bar + inner) - inner + gap, gap);
    const most = Math.max(1, ...nets.flatMap((n) => [...n.scenarios.values()].map((s) => s.total)));
    const scale = (v) => ((width - left - right) * Math.max(0, v)) / most;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": t("compare_chart") });
    let top = gap;
    let bars = 0;
    for (const { scenario, held } of groups) {
      const size = held.length * (bar + inner) - inner;
      root.append(svg("text", { x: left - 8, y: top + size / 2 + 4, "text-anchor": "end", class: "label" }, short(scenario)));
      held.forEach((net, i) => {
        const k = nets.indexOf(net);
        const s = net.scenarios.get(scenario);
        const y = top + i * (bar + inner);
        const g = svg("g", { class: "bar", "data-scenario": scenario, "data-network": k });
        g.append(
          svg("rect", { x: left, y, width: scale(s.total), height: bar, class: "total" }),
          svg("rect", { x: left, y, width: scale(s.served), height: bar, class: "net-" + (k % COLOURS) }),
          svg("text", { x: left + scale(s.total) + 6, y: y + bar - 3, class: "value" }, num(s.served) + " (" + percent(s.total ? s.served / s.total : 1) + ")"),
          svg("title", {}, `${label(net)} · ${scenario}: ${num(s.served)} / ${num(s.total)}`)
        );
        root.append(g);
        bars += 1;
      });
      top += size + gap;
    }
    $("network-chart").replaceChildren(...(groups.length ? [root] : []));
    $("network-chart").dataset.bars = String(bars);
  }

  function show(nets, refusals) {
    $("network-errors").replaceChildren(...refusals.map((r) => el("li", {}, r)));
    $("network-legend").replaceChildren(
      ...nets.map((net, k) => el("li", { "data-network": String(k) }, el("span", { class: "sym net-" + (k % COLOURS) }), label(net)))
    );
    chart(nets);
    $("network-table").tBodies[0].replaceChildren(
      ...(nets.length
        ? nets.map((net, k) =>
            el(
              "tr",
              { "data-network": String(k) },
              el("td", {}, el("span", { class: "sym net-" + (k % COLOURS) }), " ", named(net)),
              el("td", {}, net.file),
              el("td", { class: "n" }, num(net.served) + " / " + num(net.total)),
              el("td", { class: "n" }, percent(net.total ? net.served / net.total : 1)),
              el("td", {}, net.worst ? net.worst.scenario + " (" + percent(net.worst.share) + ")" : "—"),
              el("td", { class: "n" }, net.sites === null ? "—" : num(net.sites))
            )
          )
        : [el("tr", {}, el("td", { colspan: "6" }, t("compare_none")))])
    );
  }

  async function choose(files) {
    const nets = [];
    const refusals = [];
    for (const file of files) {
      try {
        if (file.size > MAX_MB * 1024 * 1024) throw new Refusal(say("compare_too_large", num(MAX_MB)));
        nets.push(...parse(await read(file), file.name));
      } catch (e) {
        const why = e instanceof Refusal ? e.message : say("compare_unreadable", (e && e.message) || String(e));
        refusals.push(file.name + ": " + why);
      }
    }
    show(nets, refusals);
  }

  $("network-files").addEventListener("change", (event) => choose([...event.target.files]));
  show([], []);
})();
