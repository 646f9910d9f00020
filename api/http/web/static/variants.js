// Scenario variants (情景变体): shelters and road closures uploaded as .xlsx, or roads closed
// by their number on the map, make a scenario of their own; closing roads plans it at once.
"use strict";
(() => {
  const { t, api, num, el, config } = Relief;
  const $ = (id) => document.getElementById(id);
  const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

  function say(text, ok) {
    $("variant-result").className = ok ? "ok" : "error";
    $("variant-result").textContent = text;
  }

  // A refusal with its place: the field names the file, sheet, row and column.
  async function refusal(answer) {
    try {
      const body = await answer.json();
      return t("refused") + ": " + [body.title, body.field, body.detail].filter(Boolean).join(" · ");
    } catch (_e) {
      return t("refused") + ": " + answer.status;
    }
  }

  function choose(variant) {
    const select = $("scenario");
    if (![...select.options].some((o) => o.value === variant.name)) {
      const title = config.lang === "zh" ? variant.title_zh : variant.title_en || variant.title_zh;
      select.append(el("option", { value: variant.name }, variant.name + " — " + title));
    }
    select.value = variant.name;
    say(
      t("variant_made") + ": " + variant.name + " · " + t("layer_shelters") + " " + num(variant.shelters) +
        " · " + t("residents") + " " + num(variant.residents) + " · " + t("road_closed") + " " + num(variant.changed_roads),
      true
    );
  }

  $("variant-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("variant-file").files[0];
    if (!file) return;
    const path = "/scenarios/" + encodeURIComponent($("scenario").value) + "/variants?filename=" + encodeURIComponent(file.name);
    // The workbook is the body itself; the same workbook makes the same variant.
    const answer = await api(path, { method: "POST", body: file, headers: { "Content-Type": XLSX } });
    if (answer.ok) choose(await answer.json());
    else say(await refusal(answer), false);
  });

  $("closure-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const roads = $("close-roads")
      .value.split(/[\s,，;；]+/)
      .map((s) => s.replace(/^road:/, ""))
      .filter(Boolean)
      .map(Number);
    const answer = await api("/scenarios/" + encodeURIComponent($("scenario").value) + "/closures", { json: { roads } });
    if (!answer.ok) {
      say(await refusal(answer), false);
      return;
    }
    choose(await answer.json());
    $("plan-form").requestSubmit();
  });

  // The map's road panel links here with ?close=12&scenario=...: the form is filled in.
  const params = new URLSearchParams(location.search);
  if (params.get("scenario")) $("scenario").value = params.get("scenario");
  if (params.get("close")) {
    $("close-roads").value = params.get("close");
    $("variants").open = true;
  }
})();
