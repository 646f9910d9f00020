// The dispatcher: start a plan job, follow its server-sent events, read the headline, approve.
"use strict";
(() => {
  const { t, api, num, percent, el } = Relief;
  Relief.requireLogin();
  const $ = (id) => document.getElementById(id);
  const FINAL = new Set(["done", "failed", "cancelled", "lost"]);
  let job = null;
  // trucks.js takes an approved plan from here: its trucks depart and deliver.
  const approved = (number) => document.dispatchEvent(new CustomEvent("relief:approved", { detail: number }));

  // EventSource cannot send the bearer token, so the stream is read with fetch.
  async function follow(id, onEvent) {
    const answer = await api("/plans/" + id + "/events", { headers: { Accept: "text/event-stream" } });
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) onEvent(event, JSON.parse(data.join("\n")));
      }
    }
  }

  function showJob(event, data) {
    job = data;
    $("job-status").textContent = t("job_" + data.status);
    $("job-status").dataset.status = data.status;
    $("job-message").textContent = data.progress || data.error || "";
    $("event-count").textContent = num(Number($("event-count").textContent.replace(/\D/g, "")) + 1);
    if (FINAL.has(event)) {
      $("job-progress").value = 1;
      $("job-progress").max = 1;
    }
  }

  function share(shelter) {
    const parts = shelter.items.filter((c) => c.need > 0).map((c) => c.on_time / c.need);
    return parts.length ? Math.min(...parts) : 1;
  }

  async function showPlan(id) {
    const answer = await api("/plans/" + id + "/plan");
    if (!answer.ok) {
      $("summary").textContent = await Relief.problem(answer);
      return;
    }
    const doc = await answer.json();
    const k = doc.kpis || {};
    $("served").textContent = num(k.residents_served_on_time) + " / " + num(k.residents_total) + " (" + percent(k.share_served_on_time) + ")";
    const bound = doc.routing ? doc.routing.bound_residents : null;
    $("bound").textContent = bound === null || bound === undefined ? "—" : num(bound);
    $("gap").textContent = doc.gap === null || doc.gap === undefined ? "—" : percent(doc.gap);
    $("plan-status").textContent = Relief.config.messages["solve_" + doc.status] ?? doc.status;
    const tiers = Object.entries(k.first_batch_on_target || {});
    $("first-batch").textContent = tiers.length
      ? tiers.map(([tier, r]) => t("tier_" + tier) + " " + num(r.on_target) + "/" + num(r.shelters) + " (" + percent(r.share) + ")").join(" · ")
      : "—";
    $("summary").textContent = job ? job.progress || "" : "";
    const worst = [...doc.shelters]
      .sort((a, b) => share(a) - share(b) || b.residents - a.residents)
      .slice(0, 10);
    $("worst").tBodies[0].replaceChildren(
      ...worst.map((s) =>
        el(
          "tr",
          {},
          el("td", {}, s.name || s.code),
          el("td", {}, num(s.residents)),
          el("td", {}, percent(share(s))),
          el("td", {}, s.reasons.length ? el("ul", {}, s.reasons.map((r) => el("li", {}, Relief.reason(r)))) : t("no_reasons"))
        )
      )
    );
    $("view-map").href = "/?plan=" + id + "&scenario=" + encodeURIComponent(job ? job.scenario : "");
    $("approve").disabled = Boolean(job && job.approved_as);
    if (job && job.approved_as) {
      $("approval").textContent = t("approved") + " " + job.approved_as;
      approved(job.approved_as);
    }
    $("result").hidden = false;
  }

  // Follow a job to its end and show its plan; the page's address names the job, so a
  // reload (or a colleague given the link) finds it again.
  async function watch(id) {
    history.replaceState(null, "", "?job=" + id);
    $("job").hidden = false;
    $("job-id").textContent = "#" + id;
    await follow(id, showJob);
    $("start").disabled = false;
    if (job && job.status === "done") await showPlan(id);
  }
  const reopen = Number(new URLSearchParams(location.search).get("job"));
  if (reopen > 0) watch(reopen);

  $("plan-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("start").disabled = true;
    $("result").hidden = true;
    $("trucks").hidden = true;
    $("approval").textContent = "";
    $("event-count").textContent = "0";
    $("job-progress").removeAttribute("value");
    const answer = await api("/plans", {
      json: {
        scenario: $("scenario").value,
        routes: $("routes").checked,
        from_ledger: $("from-ledger").checked,
        time_limit_s: Number($("time-limit").value) || null,
      },
    });
    if (!answer.ok) {
      $("job").hidden = false;
      $("job-message").textContent = await Relief.problem(answer);
      $("start").disabled = false;
      return;
    }
    job = await answer.json();
    await watch(job.id);
  });

  $("approve").addEventListener("click", async () => {
    $("approve").disabled = true;
    const answer = await api("/plans/" + job.id + "/approval", { json: {} });
    if (answer.ok) {
      const a = await answer.json();
      $("approval").textContent = t("approved") + " " + a.number + " · " + num(a.qty) + " · " + num(a.loads);
      approved(a.number);
    } else {
      $("approval").textContent = t("refused") + ": " + (await Relief.problem(answer));
      $("approve").disabled = false;
    }
  });
})();
