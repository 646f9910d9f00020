// The keeper: tabs, stock by depot subtree (item, expiry window, rotation date), the
// receive / issue / transfer / count forms showing the API's refusal in its own words, and
// each posted document's printed page. The lists (rotation, agreements, quotas) are in
// keeper_lists.js, which registers its tabs here.
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
  /** A table body's rows, or one row saying none (or the problem, in red). */
  function fill(tableId, rows, columns) {
    const body = $(tableId).tBodies[0];
    if (!rows.length) body.replaceChildren(el("tr", {}, el("td", { colspan: String(columns) }, t("none"))));
    else body.replaceChildren(...rows);
  }
  async function failed(tableId, columns, answer) {
    const cell = el("td", { colspan: String(columns), class: "error" }, await Relief.problem(answer));
    $(tableId).tBodies[0].replaceChildren(el("tr", {}, cell));
  }
  const cell = (value, cls) => el("td", cls ? { class: cls } : {}, value);
  const today = () => new Date().toISOString().slice(0, 10);

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

  // ------------------------------------------------------------------ forms
  const text = (id) => $(id).value.trim();
  const optional = (json, key, id) => {
    if (text(id)) json[key] = text(id);
    return json;
  };
  /** Post a form's document; a refusal is the problem's title and detail, as it came. */
  function form(id, path, done, body) {
    const out = $(id.replace("-form", "-result"));
    $(id).addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await api(path, { json: body() });
      if (!answer.ok) {
        out.className = "error";
        out.textContent = t("refused") + " — " + (await Relief.problem(answer));
        return;
      }
      const number = (await answer.json()).number;
      out.className = "ok";
      if (!number) {
        out.textContent = t("count_matches");
        return;
      }
      out.replaceChildren(t(done) + " " + number + " ", printButton(number, out));
      posted(number);
      loaded.clear(); // the lists are read again when next shown
      balances();
    });
  }
  form("receive-form", "/documents/receipts", "received", () =>
    optional(
      { depot: $("rc-depot").value, item: text("rc-item"), qty: Number($("rc-qty").value), lot: text("rc-lot") },
      "expires_on",
      "rc-expires"
    )
  );
  form("issue-form", "/documents/issues", "issued", () =>
    optional({ depot: $("i-depot").value, item: text("i-item"), qty: Number($("i-qty").value) }, "lot", "i-lot")
  );
  form("transfer-form", "/documents/transfers", "transferred", () =>
    optional(
      { source: $("t-source").value, destination: $("t-destination").value, item: text("t-item"), qty: Number($("t-qty").value) },
      "lot",
      "t-lot"
    )
  );
  form("count-form", "/documents/stocktakes", "counted_posted", () => {
    const line = optional({ item: text("c-item"), lot: text("c-lot"), counted: Number($("c-counted").value) }, "note", "c-note");
    if ($("c-reason").value) line.reason = $("c-reason").value;
    return { depot: $("c-depot").value, lines: [line] };
  });

  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    balances();
  });
  $("print-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("print-error").textContent = "";
    print(text("p-number"), $("print-error"));
  });
  document.querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  document.addEventListener("DOMContentLoaded", () => {
    fill("posted", [], 2);
    depots().then(() => {
      balances();
      show(location.hash.slice(1));
    });
  });

  return { $, onTab, fill, failed, cell, today };
})();
