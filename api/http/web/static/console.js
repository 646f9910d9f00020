// The console's shared helpers: the token (sessionStorage), API calls, words and formats.
"use strict";
const Relief = (() => {
  const config = JSON.parse(document.getElementById("config").textContent);
  const TOKEN = "relief_token";
  const t = (key) => config.messages[key] ?? key;
  const token = () => sessionStorage.getItem(TOKEN);

  function toLogin() {
    const next = location.pathname + location.search;
    location.href = "/login?next=" + encodeURIComponent(next);
  }
  function requireLogin() {
    if (!token()) toLogin();
  }
  function key() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set("Authorization", "Bearer " + token());
    if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      headers.set("Idempotency-Key", key());
      options = { ...options, method: options.method || "POST", body: JSON.stringify(options.json) };
    }
    const answer = await fetch(path, { ...options, headers });
    if (answer.status === 401) {
      sessionStorage.removeItem(TOKEN);
      toLogin();
    }
    return answer;
  }
  async function problem(answer) {
    // An RFC 9457 problem as one line: its title and its detail (the API's own words).
    try {
      const body = await answer.json();
      return [body.title, body.detail].filter(Boolean).join(": ") || String(answer.status);
    } catch (_e) {
      return String(answer.status);
    }
  }
  const numbers = {};
  function num(value, digits = 0) {
    if (value === null || value === undefined) return "—";
    const f = (numbers[digits] ||= new Intl.NumberFormat(config.locale, { maximumFractionDigits: digits }));
    return f.format(value);
  }
  const percent = (value) =>
    value === null || value === undefined
      ? "—"
      : new Intl.NumberFormat(config.locale, { style: "percent", maximumFractionDigits: 1 }).format(value);
  const hours = (value) => (value === null || value === undefined ? "—" : num(value, 1) + " " + t("hours"));
  const day = (iso) =>
    iso ? new Intl.DateTimeFormat(config.locale, { dateStyle: "medium" }).format(new Date(iso + "T00:00:00")) : "—";

  // A planner's reason (optimizer/coverage.py: "deadline: the soonest can arrive at 12.3 h
  // (WATER* 0/40 on time)"), as a sentence in the console's language with the planner's
  // own words beside it; an unknown cause keeps its short label before the text.
  const CAUSES = [
    [/^unreachable: every road to the shelter is closed/, "why_cut_off"],
    [/^no stock: /, "why_no_stock"],
    [/^unreachable: /, "why_unreachable"],
    [/^no vehicle: /, "why_no_vehicle"],
    [/^deadline: the soonest can arrive at ([\d.]+) h/, "why_deadline"],
    [/^fleet capacity: vehicles of (.+?) fully used by ([\d.]+) h/, "why_fleet_capacity"],
    [/^shortage: all that can arrive by ([\d.]+) h/, "why_shortage"],
    [/^not routed in time: (.*)$/, "why_not_routed"],
    [/^routing: /, "why_routing"],
  ];
  const fill = (template, values) =>
    template.replace(/\{(\d)\}/g, (_m, i) => {
      const v = values[Number(i)] ?? "";
      return /^\d+(\.\d+)?$/.test(v) ? num(Number(v), 1) : v;
    });
  function reason(text) {
    if (config.lang === "en") return text;
    for (const [pattern, key] of CAUSES) {
      const m = text.match(pattern);
      if (!m || !(key in config.messages)) continue;
      let said = fill(t(key), m.slice(1));
      const shorts = text.match(/\(([^()]*) on time\)$/);
      if (shorts) said += " " + fill(t("why_on_time"), [shorts[1]]);
      if (shorts && shorts[1].includes("*")) said += t("why_critical");
      return said + " — " + text;
    }
    const key = "reason_" + text.split(":", 1)[0].replace(/ /g, "_");
    return key in config.messages ? t(key) + " " + text : text;
  }

  // Elements from data with textContent only: API data never becomes HTML.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  // SVG elements the same way: attributes set one by one, text as textContent.
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function table(headings, rows) {
    return el(
      "table",
      {},
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))
    );
  }

  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (logout) {
      logout.hidden = !token();
      logout.addEventListener("click", () => {
        sessionStorage.removeItem(TOKEN);
        location.href = "/login";
      });
    }
    // The language switch keeps the page's other parameters (the plan shown...).
    const sw = document.getElementById("lang-switch");
    if (sw) {
      const params = new URLSearchParams(location.search);
      params.set("lang", sw.dataset.lang);
      sw.href = location.pathname + "?" + params.toString();
    }
    const here = document.body.className.replace("page-", "");
    document.querySelectorAll("[data-nav]").forEach((a) => {
      if (a.dataset.nav === here) a.setAttribute("aria-current", "page");
    });
  });

  return { config, t, token, TOKEN, requireLogin, api, problem, num, percent, hours, day, reason, el, svg, table };
})();
