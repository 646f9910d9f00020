// The keeper's forms: receive, issue, transfer, and a count sheet of a depot's booked lots.
// Each posts one document; a refusal is the API's problem (title and detail) as it came,
// the same words the CLI prints.
"use strict";
(() => {
  const { t, api, num, day, el } = Relief;
  const { $, printButton, posted, changed } = Keeper;
  const text = (id) => $(id).value.trim();
  const optional = (json, key, value) => {
    if (value) json[key] = value;
    return json;
  };

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
        out.textContent = t("count_matches"); // a count that changed nothing posts nothing
        return;
      }
      out.replaceChildren(t(done) + " " + number + " ", printButton(number, out));
      posted(number);
      changed();
    });
  }

  form("receive-form", "/documents/receipts", "received", () =>
    optional(
      { depot: $("rc-depot").value, item: text("rc-item"), qty: Number($("rc-qty").value), lot: text("rc-lot") },
      "expires_on",
      text("rc-expires")
    )
  );
  form("issue-form", "/documents/issues", "issued", () =>
    optional({ depot: $("i-depot").value, item: text("i-item"), qty: Number($("i-qty").value) }, "lot", text("i-lot"))
  );
  form("transfer-form", "/documents/transfers", "transferred", () =>
    optional(
      { source: $("t-source").value, destination: $("t-destination").value, item: text("t-item"), qty: Number($("t-qty").value) },
      "lot",
      text("t-lot")
    )
  );

  // ------------------------------------------------------------------ count sheet
  /** One line of the sheet: a booked lot (with its book quantity) or one typed in. */
  function sheetRow(item, lot, expires, book) {
    const reasons = $("count-reasons").content.cloneNode(true);
    return el(
      "tr",
      { "data-item": item, "data-lot": lot },
      el("td", {}, item),
      el("td", {}, lot),
      el("td", {}, day(expires)),
      el("td", { class: "n" }, book === null ? "—" : num(book)),
      el("td", {}, el("input", { type: "number", min: "0", class: "counted", "aria-label": t("counted") })),
      el("td", {}, el("select", { class: "reason", "aria-label": t("count_reason") }, reasons)),
      el("td", {}, el("input", { class: "note", maxlength: "2000", "aria-label": t("note") }))
    );
  }
  $("count-load").addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ limit: "500", depot: $("c-depot").value });
    if (text("c-filter")) params.set("item", text("c-filter"));
    const answer = await api("/balances?" + params.toString());
    const body = $("count-sheet").tBodies[0];
    if (!answer.ok) {
      $("count-result").className = "error";
      $("count-result").textContent = await Relief.problem(answer);
      return;
    }
    body.replaceChildren(...(await answer.json()).items.map((r) => sheetRow(r.item, r.lot, r.expires_on, r.on_hand)));
  });
  $("count-add").addEventListener("click", () => {
    if (!text("c-item") || !text("c-lot")) return;
    $("count-sheet").tBodies[0].append(sheetRow(text("c-item"), text("c-lot"), null, null));
    $("c-item").value = $("c-lot").value = "";
  });
  // Only the lines given a count are sent: lots not counted stay as the ledger has them.
  form("count-form", "/documents/stocktakes", "counted_posted", () => ({
    depot: $("c-depot").value,
    lines: [...$("count-sheet").tBodies[0].rows]
      .filter((row) => row.querySelector(".counted").value !== "")
      .map((row) => {
        const line = { item: row.dataset.item, lot: row.dataset.lot, counted: Number(row.querySelector(".counted").value) };
        optional(line, "reason", row.querySelector(".reason").value);
        return optional(line, "note", row.querySelector(".note").value.trim());
      }),
  }));
})();
