// The dispatcher's trucks (调度执行): once a plan is approved, each vehicle's trips depart
// and its stops are delivered here, through /dispatch/plans; the table is redrawn from the
// API after every move, so what it shows is what the ledger holds.
"use strict";
(() => {
  const { t, api, num, hours, el } = Relief;
  const $ = (id) => document.getElementById(id);
  let number = null;

  // One status for several loads: the least advanced wins (a trip is on the road only
  // when all of it is).
  const ORDER = ["reserved", "in_transit", "delivered", "released"];
  const statusOf = (loads) => ORDER.find((s) => loads.some((ld) => ld.status === s)) || "released";
  const badge = (status) => el("span", { class: "status status-" + status, "data-status": status }, t("load_" + status));

  function groups(loads) {
    // vehicle -> trip -> stop -> loads, in the order the API gives (vehicle, stop).
    const byVehicle = new Map();
    for (const ld of loads) {
      if (!ld.vehicle) continue;
      const trips = byVehicle.get(ld.vehicle) || new Map();
      byVehicle.set(ld.vehicle, trips);
      const stops = trips.get(ld.trip) || new Map();
      trips.set(ld.trip, stops);
      stops.set(ld.stop, [...(stops.get(ld.stop) || []), ld]);
    }
    return byVehicle;
  }

  function button(label, enabled, onClick) {
    const b = el("button", { type: "button" }, label);
    b.disabled = !enabled;
    b.addEventListener("click", onClick);
    return b;
  }

  function draw(plan) {
    const open = plan.status === "approved";
    $("dispatch-number").textContent = plan.number;
    $("dispatch-status").textContent = t("plan_" + plan.status);
    $("dispatch-status").dataset.status = plan.status;
    $("cancel-plan").disabled = !open;
    const rows = [];
    for (const [vehicle, trips] of groups(plan.loads)) {
      for (const [trip, stops] of trips) {
        const loads = [...stops.values()].flat();
        const state = statusOf(loads);
        rows.push(
          el(
            "tr",
            { class: "trip", "data-vehicle": vehicle, "data-trip": trip },
            el("th", {}, vehicle),
            el("th", {}, t("trip") + " " + num(trip)),
            el("th", {}, loads[0].depot),
            el("th", {}, num(loads.reduce((n, ld) => n + ld.qty, 0))),
            el("th", {}, ""),
            el("th", {}, badge(state)),
            el("th", {}, button(t("depart_trip"), open && state === "reserved", () => move("departures", { vehicle, trip })))
          )
        );
        for (const [stop, here] of stops) {
          const state = statusOf(here);
          const problem = here.map((ld) => ld.problem).find(Boolean);
          rows.push(
            el(
              "tr",
              { class: "stop", "data-vehicle": vehicle, "data-stop": stop },
              el("td", {}, t("stop") + " " + num(stop)),
              el("td", {}, here[0].shelter),
              el("td", {}, here.map((ld) => ld.item + " " + ld.lot + " × " + num(ld.qty)).join(" · ")),
              el("td", { class: "n" }, num(here.reduce((n, ld) => n + ld.qty, 0))),
              el("td", {}, hours(here[0].arrival_hours)),
              el("td", {}, badge(state), problem ? el("div", { class: "error" }, problem) : null),
              el("td", {}, button(t("deliver_stop"), state === "in_transit" && !problem, () => move("deliveries", { vehicle, stop })))
            )
          );
        }
      }
    }
    $("tours").tBodies[0].replaceChildren(...rows);
    $("trucks").hidden = false;
  }

  async function load() {
    const answer = await api("/dispatch/plans/" + encodeURIComponent(number));
    if (answer.ok) draw(await answer.json());
    else $("move-result").textContent = await Relief.problem(answer);
  }

  async function move(kind, body) {
    $("move-result").className = "";
    const answer = await api("/dispatch/plans/" + encodeURIComponent(number) + "/" + kind, { json: body });
    if (answer.ok) {
      const done = await answer.json();
      $("move-result").textContent = t("posted") + " " + done.document + " · " + done.vehicle + " · " + done.shelters.join(", ") + " · " + num(done.qty);
    } else {
      $("move-result").className = "error";
      $("move-result").textContent = t("refused") + ": " + (await Relief.problem(answer));
    }
    await load();
  }

  $("cancel-plan").addEventListener("click", async () => {
    const answer = await api("/dispatch/plans/" + encodeURIComponent(number) + "/cancel", { json: {} });
    $("move-result").textContent = answer.ok ? t("plan_cancelled") : t("refused") + ": " + (await Relief.problem(answer));
    await load();
  });

  // dispatch.js says when a plan is approved (or a reloaded job was approved before).
  document.addEventListener("relief:approved", (event) => {
    number = event.detail;
    load();
  });
})();
