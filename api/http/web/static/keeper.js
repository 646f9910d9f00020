// The keeper: tabs, stock by depot subtree (item, expiry window, rotation date) and each
// posted document's printed page. The forms are in keeper_forms.js, the work-lists
// (rotation, agreements, quotas) in keeper_lists.js; both use what this returns.
"use strict";
const Keeper = (() => {
  const { t, api, num, day, el, config } = Relief;
  Relief.requireLogin();
  const $ = (id) => document.getElementById(id);
  const loaders = {};
  const loaded = new Set();

  // ------------------------------------------------------------------ tabs
  function show(name) {
    if (!$("panel-" + name)) name = "stock";
    document.querySelectorAll("[data-panel]").forEach((p) => (p.hidden = p.dataset.panel !== name));
    document.querySelectorAll("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    history.replaceState(null, "", "#" + name);
    // The language switch keeps the tab shown.
    const sw = $("lang-switch");
    if (sw) sw.href = sw.href.split("#")[0] + "#" + name;
    if (loaders[name] && !loaded.has(name)) {
      loaded.add(name);
      loaders[name]();
    }
  }
  const onTab = (name, load) => (loaders[name] = load);

  // ------------------------------------------------------------------ shared
  /** A table body's rows, or one row saying there are none. */
  function fill(tableId, rows, columns) {
    const body = $(tableId).tBodies[0];
    if (!rows.length) body.replaceChildren(el("tr", {}, el("td", { colspan: String(columns) }, t("none"))));
    else body.replaceChildren(...rows);
  }
  /** A table body's one row: the API's problem, in red. */
  async function failed(tableId, columns, answer) {
    const cell = el("td", { colspan: String(columns), class: "error" }, await Relief.problem(answer));
    $(tableId).tBodies[0].replaceChildren(el("tr", {}, cell));
  }
  const cell = (value, cls) => el("td", cls ? { class: cls } : {}, value);
  // Today in the browser's calendar (not UTC's), as the API writes dates.
  const today = () => {
    const d = new Date();
    return [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  };

  async function depots() {
    const answer = await api("/depots?limit=500");
    if (!answer.ok) return;
    for (const d of (await answer.json()).items) {
      document.querySelectorAll("select.depots").forEach((s) => s.append(el("option", { value: d.code }, d.code + " — " + d.name)));
    }
  }

  // ------------------------------------------------------------------ stock
  async function balances() {
    const params = new URLSearchParams({ limit: "500" });
    if ($("f-depot").value) params.set("depot", $("f-depot").value), params.set("subtree", "true");
    if ($("f-item").value) params.set("item", $("f-item").value.trim());
    if ($("f-after").value) params.set("expires_after", $("f-after").value);
    if ($("f-expires").value) params.set("expires_before", $("f-expires").value);
    const answer = await api("/balances?" + params.toString());
    if (!answer.ok) return failed("balances", 8, answer);
    const now = today();
    const rows = (await answer.json()).items.map((r) =>
      el(
        "tr",
        { class: r.expired ? "expired" : r.rotation_due && r.rotation_due <= now ? "due" : "" },
        cell(r.depot + " " + r.depot_name),
        cell(r.item + " " + r.item_name),
        cell(r.lot),
        cell(day(r.expires_on)),
        cell(day(r.rotation_due)),
        cell(num(r.on_hand), "n"),
        cell(num(r.reserved), "n"),
        cell(num(r.available), "n")
      )
    );
    fill("balances", rows, 8);
  }

  // ------------------------------------------------------------------ printing
  /** The printed page of a posted document in a new tab, for the browser to print. The
   * page is fetched with the token (a plain link would carry none) and opened as its own
   * document; the console's policy allows its one stylesheet by hash. */
  async function print(number, out) {
    const tab = window.open("", "_blank");
    if (!tab) {
      out.className = "error";
      out.textContent = t("popup_blocked");
      return;
    }
    const answer = await api("/documents/" + encodeURIComponent(number) + "/print?lang=" + config.lang);
    if (!answer.ok) {
      tab.close();
      out.className = "error";
      out.textContent = await Relief.problem(answer);
      return;
    }
    const page = new Blob([await answer.text()], { type: "text/html;charset=utf-8" });
    tab.location.href = URL.createObjectURL(page);
  }
  function printButton(number, out) {
    const button = el("button", { type: "button", class: "print", "data-number": number }, t("print"));
    button.addEventListener("click", () => print(number, out));
    return button;
  }
  function posted(number) {
    const out = $("print-error");
    const row = el("tr", {}, cell(number), el("td", {}, printButton(number, out)));
    const body = $("posted").tBodies[0];
    if (body.rows.length === 1 && !body.rows[0].querySelector("button")) body.replaceChildren();
    body.prepend(row);
  }

  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    balances();
  });
  $("print-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("print-error").textContent = "";
    print($("p-number").value.trim(), $("print-error"));
  });
  document.querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  document.addEventListener("DOMContentLoaded", () => {
    fill("posted", [], 2);
    depots().then(() => {
      balances();
      show(location.hash.slice(1));
    });
  });

  /** After a document posts: the stock again, the lists when next shown. */
  function changed() {
    loaded.clear();
    balances();
  }

  return { $, onTab, fill, failed, cell, today, printButton, posted, changed };
})();
