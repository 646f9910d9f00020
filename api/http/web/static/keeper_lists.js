// The keeper's work-lists, each read when its tab is first shown: rotation due, agreements
// and the call-offs expected, quota gaps, and readiness against the norms typed in.
"use strict";
(() => {
  const { t, api, num, day, hours, percent, el, config } = Relief;
  const { $, onTab, fill, failed, cell, today, printButton, posted, changed } = Keeper;
  const when = (iso) =>
    iso ? new Intl.DateTimeFormat(config.locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "—";
  // A word for a value the API names in English (a state, a tier), or the value itself.
  const word = (prefix, value) => (value && config.messages[prefix + value]) || value || "—";

  async function rotation() {
    const params = new URLSearchParams({ limit: "500", within_days: $("r-days").value || "90" });
    if ($("r-depot").value) params.set("depot", $("r-depot").value), params.set("subtree", "true");
    const answer = await api("/rotation/due?" + params.toString());
    if (!answer.ok) return failed("rotation", 7, answer);
    const now = today();
    const rows = (await answer.json()).items.map((r) =>
      el(
        "tr",
        { class: r.rotation_due < now ? "overdue" : "" },
        cell(day(r.rotation_due) + (r.rotation_due < now ? " · " + t("overdue") : "")),
        cell(r.depot + " " + r.depot_name),
        cell(r.item + " " + r.item_name),
        cell(r.lot),
        cell(day(r.expires_on)),
        cell(num(r.on_hand), "n"),
        cell(num(r.available), "n")
      )
    );
    fill("rotation", rows, 7);
  }

  async function agreements() {
    const [list, expected] = await Promise.all([api("/agreements?limit=500"), api("/call-offs/expected")]);
    if (!list.ok) failed("agreements", 9, list);
    else {
      const rows = (await list.json()).items.map((a) =>
        el(
          "tr",
          { class: a.flags.length ? "flagged" : "" },
          cell(a.code),
          cell(a.supplier_name),
          cell(a.item),
          cell(a.depot),
          cell(word("state_", a.state)),
          cell(num(a.remaining), "n"),
          cell(hours(a.lead_time_hours), "n"),
          cell(day(a.valid_to)),
          el("td", {}, a.flags.map((f) => el("div", {}, f)))
        )
      );
      fill("agreements", rows, 9);
    }
    if (!expected.ok) return failed("expected", 8, expected);
    const rows = (await expected.json()).map((c) =>
      el(
        "tr",
        { class: c.overdue ? "overdue" : "" },
        cell(c.number),
        cell(c.agreement),
        cell(c.supplier),
        cell(c.item),
        cell(c.depot),
        cell(num(c.qty), "n"),
        cell(when(c.due_at) + (c.overdue ? " · " + t("overdue") : "")),
        el("td", {}, arrival(c.number))
      )
    );
    fill("expected", rows, 8);
  }

  /** A call-off's goods arrive: its lot (and expiry) received into its depot. */
  function arrival(number) {
    const lot = el("input", { name: "lot", required: "", maxlength: "64", placeholder: t("lot"), "aria-label": t("lot") });
    const expires = el("input", { name: "expires_on", type: "date", "aria-label": t("expires_on") });
    const form = el("form", { class: "inline", "data-call-off": number }, lot, expires, el("button", { type: "submit" }, t("receive")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const json = { lot: lot.value.trim() };
      if (expires.value) json.expires_on = expires.value;
      const answer = await api("/call-offs/" + encodeURIComponent(number) + "/receipt", { json });
      const out = $("expected-result");
      if (!answer.ok) {
        out.className = "error";
        out.textContent = t("refused") + " — " + (await Relief.problem(answer));
        return;
      }
      const receipt = (await answer.json()).receipt;
      out.className = "ok";
      out.replaceChildren(t("received") + " " + number + " → " + receipt + " ", printButton(receipt, out));
      posted(receipt);
      changed();
      agreements();
    });
    return form;
  }

  async function gaps() {
    const params = new URLSearchParams();
    if ($("g-hours").value) params.set("hours", $("g-hours").value);
    const answer = await api("/quotas/gaps?" + params.toString());
    if (!answer.ok) return failed("gaps", 9, answer);
    const rows = (await answer.json()).map((g) =>
      el(
        "tr",
        { class: g.status === "short" ? "short" : "" },
        cell(g.depot),
        cell(word("tier_", g.tier)),
        cell(g.item),
        cell(num(g.quota), "n"),
        cell(num(g.on_hand), "n"),
        cell(num(g.agreements), "n"),
        cell(num(g.covered), "n"),
        cell(num(g.shortfall), "n"),
        cell(word("gap_", g.status))
      )
    );
    fill("gaps", rows, 9);
  }

  /** Norms typed a line each, "item,per person,day|once" (as norms.csv's columns). */
  function norms() {
    return $("n-norms")
      .value.split("\n")
      .map((line) => line.split(/[,，\s]+/).filter(Boolean))
      .filter((cells) => cells.length)
      .map(([item, per_person, per]) => ({ item, per_person, per: per || "day", critical: true }));
  }

  async function readiness() {
    const json = { norms: norms() };
    if ($("n-hours").value) json.hours = Number($("n-hours").value);
    const answer = await api("/readiness", { json });
    const out = $("readiness-error");
    if (!answer.ok) {
      out.textContent = t("refused") + " — " + (await Relief.problem(answer));
      return;
    }
    out.textContent = "";
    const rows = (await answer.json()).map((r) =>
      el(
        "tr",
        {},
        cell(r.depot + " " + r.name),
        cell(word("tier_", r.tier)),
        cell(num(r.depots), "n"),
        cell(num(r.population_served), "n"),
        cell(num(r.residents), "n"),
        cell(percent(r.share), "n"),
        cell(r.limiting_item)
      )
    );
    fill("readiness", rows, 7);
  }

  const on = (id, run) =>
    $(id).addEventListener("submit", (event) => {
      event.preventDefault();
      run();
    });
  on("rotation-form", rotation);
  on("gaps-form", gaps);
  on("readiness-form", readiness);
  onTab("rotation", rotation);
  onTab("agreements", agreements);
  onTab("quotas", gaps);
})();
