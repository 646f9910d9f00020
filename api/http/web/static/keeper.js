// The keeper: stock by depot subtree (item, expiry window) and an issue form that shows
// the API's refusal in its own words.
"use strict";
(() => {
  const { t, api, num, day, el } = Relief;
  Relief.requireLogin();
  const $ = (id) => document.getElementById(id);

  async function depots() {
    const answer = await api("/depots?limit=500");
    if (!answer.ok) return;
    const items = (await answer.json()).items;
    for (const d of items) {
      const label = d.code + " — " + d.name;
      $("f-depot").append(el("option", { value: d.code }, label));
      $("i-depot").append(el("option", { value: d.code }, label));
    }
  }

  async function balances() {
    const params = new URLSearchParams({ limit: "500" });
    if ($("f-depot").value) params.set("depot", $("f-depot").value), params.set("subtree", "true");
    if ($("f-item").value) params.set("item", $("f-item").value.trim());
    if ($("f-after").value) params.set("expires_after", $("f-after").value);
    if ($("f-expires").value) params.set("expires_before", $("f-expires").value);
    const answer = await api("/balances?" + params.toString());
    const body = $("balances").tBodies[0];
    if (!answer.ok) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "7", class: "error" }, await Relief.problem(answer))));
      return;
    }
    const rows = (await answer.json()).items;
    body.replaceChildren(
      ...rows.map((r) =>
        el(
          "tr",
          { class: r.expired ? "expired" : "" },
          el("td", {}, r.depot + " " + r.depot_name),
          el("td", {}, r.item + " " + r.item_name),
          el("td", {}, r.lot),
          el("td", {}, day(r.expires_on)),
          el("td", { class: "n" }, num(r.on_hand)),
          el("td", { class: "n" }, num(r.reserved)),
          el("td", { class: "n" }, num(r.available))
        )
      )
    );
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "7" }, t("none"))));
  }

  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    balances();
  });
  $("issue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("issue-result");
    const json = { depot: $("i-depot").value, item: $("i-item").value.trim(), qty: Number($("i-qty").value) };
    if ($("i-lot").value.trim()) json.lot = $("i-lot").value.trim();
    const answer = await api("/documents/issues", { json });
    if (answer.ok) {
      out.className = "ok";
      out.textContent = t("issued") + " " + (await answer.json()).number;
      balances();
    } else {
      out.className = "error";
      out.textContent = t("refused") + " — " + (await Relief.problem(answer));
    }
  });
  depots().then(balances);
})();
