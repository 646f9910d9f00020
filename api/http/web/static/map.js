// The one map: a scenario's roads, shelters and depots, and a done plan's coverage and tours.
"use strict";
(() => {
  const { t, api, num, hours, day, el, table } = Relief;
  Relief.requireLogin();
  const COVERAGE = {
    on_time: "#1a9850", late: "#fdae61", unmet: "#d73027", unreachable: "#4d4d4d", unplanned: "#3182bd",
  };
  const ROADS = { open: "#7f8c8d", damaged: "#e67e22", closed: "#c0392b" };
  const TIERS = ["province", "city", "county", "township", "village", "agreement"];

  const map = L.map("map", { preferCanvas: true, zoomControl: true });
  if (Relief.config.tile_url) L.tileLayer(Relief.config.tile_url, { maxZoom: 18 }).addTo(map);
  const layers = {
    // Roads are drawn as one line per status (tens of thousands of roads in a province:
    // one Leaflet layer each would take seconds to build); the GeoJSON keeps one per road.
    roads: L.featureGroup(),
    shelters: L.geoJSON(null, {
      pointToLayer: (f, at) =>
        L.circleMarker(at, {
          radius: Math.max(4, Math.min(12, 2 + Math.sqrt(f.properties.residents || 0) / 12)),
          fillColor: COVERAGE[f.properties.coverage] || COVERAGE.unplanned,
          color: "#222", weight: 0.6, fillOpacity: 0.9,
          bubblingMouseEvents: false, // a click on a shelter is not a click on the map (roads)
        }),
    }),
    tours: L.featureGroup(),
    depots: L.geoJSON(null, {
      pointToLayer: (f, at) =>
        L.marker(at, { icon: depotIcon(f), title: f.properties.name || f.properties.code, keyboard: true }),
    }),
  };
  // A depot's symbol: its tier's shape, sized by its stock (of the item chosen, or all).
  const sizeBy = document.getElementById("size-by");
  function depotIcon(f) {
    const item = sizeBy.value;
    const lots = f.properties.lots || [];
    const qty = item ? lots.filter((l) => l.item === item).reduce((n, l) => n + l.qty, 0) : f.properties.stock_qty || 0;
    const size = Math.round(8 + 3 * Math.log10(1 + qty));
    const tier = TIERS.includes(f.properties.tier) ? f.properties.tier : "village";
    return L.divIcon({ className: "depot depot-" + tier, iconSize: [size, size], html: "" });
  }
  function fillItems(depots) {
    const items = new Set(depots.features.flatMap((f) => (f.properties.lots || []).map((l) => l.item)));
    const chosen = sizeBy.value;
    sizeBy.replaceChildren(el("option", { value: "" }, t("all_stock")), ...[...items].sort().map((i) => el("option", { value: i }, i)));
    sizeBy.value = items.has(chosen) ? chosen : "";
  }
  sizeBy.addEventListener("change", () => layers.depots.eachLayer((m) => m.setIcon(depotIcon(m.feature))));
  // A truck's trip: its line with an arrowhead every ARROW_PX along it, the way it drives.
  const ARROW_PX = 70;
  const ArrowLine = L.Polyline.extend({
    _updatePath() {
      L.Polyline.prototype._updatePath.call(this);
      const renderer = this._renderer;
      if (!renderer._drawing || !renderer._ctx) return;
      const ctx = renderer._ctx;
      ctx.save();
      ctx.fillStyle = this.options.color;
      for (const part of this._parts) {
        let run = ARROW_PX / 2;
        for (let i = 1; i < part.length; i++) {
          const a = part[i - 1];
          const b = part[i];
          run += a.distanceTo(b);
          if (run < ARROW_PX) continue;
          run = 0;
          const angle = Math.atan2(b.y - a.y, b.x - a.x);
          const m = a.add(b).divideBy(2);
          ctx.beginPath();
          for (const turn of [0, 2.5, -2.5]) ctx.lineTo(m.x + 7 * Math.cos(angle + turn), m.y + 7 * Math.sin(angle + turn));
          ctx.closePath();
          ctx.fill();
        }
      }
      ctx.restore();
    },
  });
  function drawTours(data) {
    for (const f of data.features) {
      const line = new ArrowLine(
        f.geometry.coordinates.map(([lon, lat]) => [lat, lon]),
        { color: f.properties.stroke, weight: 3.5, opacity: 0.85, bubblingMouseEvents: false }
      );
      line.feature = f;
      line.bindTooltip(() => tourTip(f.properties), { sticky: true });
      layers.tours.addLayer(line);
    }
  }
  const control = L.control.layers(null, {
    [t("layer_roads")]: layers.roads,
    [t("layer_shelters")]: layers.shelters,
    [t("layer_tours")]: layers.tours,
    [t("layer_depots")]: layers.depots,
  }, { collapsed: false }).addTo(map);
  Object.values(layers).forEach((layer) => layer.addTo(map));
  const state = { planDepots: {}, ready: false, roads: 0, roadFeatures: [] };
  window.reliefMap = { map, layers, control, state };

  // --- panels ------------------------------------------------------------------------
  const panel = document.getElementById("panel");
  const body = document.getElementById("panel-body");
  document.getElementById("panel-close").addEventListener("click", () => {
    panel.hidden = true;
    map.invalidateSize();
  });
  // Shelters are added after the tours so that a click on a shelter on a tour finds the
  // shelter; tours switched off and on again come back on top, so shelters go above them.
  map.on("overlayadd", (e) => e.layer === layers.tours && layers.shelters.bringToFront());
  function show(kind, ...children) {
    body.replaceChildren(...children.flat(2).filter((c) => c !== null && c !== undefined));
    body.dataset.kind = kind;
    panel.hidden = false;
    map.invalidateSize();
  }
  function depotPanel(p) {
    const plan = state.planDepots[p.kind + ":" + p.code];
    const lots = (p.lots || []).map((r) => [r.item, r.lot || "—", num(r.qty), day(r.expires_on)]);
    show(
      "depot",
      el("h2", {}, p.name || p.code),
      el("p", { class: "muted" }, p.code + " · " + t("tier_" + p.tier)),
      el("p", {}, t("stock") + ": " + num(p.stock_qty)),
      plan ? el("p", {}, t("shipped") + ": " + num(plan.shipped_qty) + " · " + t("vehicle") + ": " + num(plan.vehicles)) : null,
      el("h3", {}, t("stock")),
      table([t("item"), t("lot"), t("qty"), t("expires_on")], lots),
      p.fleet && p.fleet.length
        ? [el("h3", {}, t("fleet")), table([t("vehicle"), t("count")], p.fleet.map((v) => [v.vehicle_type, num(v.count)]))]
        : null
    );
  }
  function shelterPanel(p) {
    const items = (p.items || []).map((c) => [c.item, num(c.need), num(c.on_time), num(c.late), num(c.unmet)]);
    const reasons = p.reasons || [];
    show(
      "shelter",
      el("h2", {}, p.name || p.code),
      el("p", { class: "muted" }, p.code + " · " + t("cov_" + p.coverage)),
      el("p", {}, t("residents") + ": " + num(p.residents)),
      items.length ? [el("h3", {}, t("need")), table([t("item"), t("need"), t("on_time"), t("late"), t("unmet")], items)] : null,
      p.coverage !== "unplanned"
        ? [
            el("h3", {}, t("arrivals")),
            el("p", {}, t("first_arrival") + ": " + hours(p.first_arrival_hours) + " · " + t("last_arrival") + ": " + hours(p.last_arrival_hours)),
            el("h3", {}, t("reasons")),
            reasons.length ? el("ul", { id: "reasons" }, reasons.map((r) => el("li", {}, Relief.reason(r)))) : el("p", { id: "reasons" }, t("no_reasons")),
          ]
        : null
    );
  }
  function tourPanel(p) {
    const rows = [];
    for (const s of p.stops) {
      const loads = s.loads.map((l) => l.item + " " + l.lot + " × " + num(l.qty)).join("; ");
      rows.push([num(s.stop), s.shelter, hours(s.arrival_hours), loads]);
    }
    show(
      "tour",
      el("h2", {}, t("vehicle") + " " + p.vehicle),
      el("p", { class: "muted" }, t("trip") + " " + num(p.trip) + " · " + t("depart") + " " + hours(p.depart_hours) + " · " + num(p.load_kg) + " kg"),
      el("h3", {}, t("manifest")),
      table([t("stop"), t("shelter"), t("arrivals"), t("manifest")], rows)
    );
  }
  function tourTip(p) {
    const lines = [p.vehicle + " · " + t("trip") + " " + num(p.trip)];
    for (const s of p.stops) lines.push(num(s.stop) + ". " + s.shelter + " " + hours(s.arrival_hours));
    return el("div", {}, lines.map((line) => el("div", {}, line)));
  }
  // Roads are not interactive (one line per status): a click on the map away from any
  // marker finds the nearest road within a few pixels and opens its panel, with a link to
  // close it and plan again on the dispatch page.
  const ROAD_PICK_PX = 6;
  function nearestRoad(at) {
    const p = map.latLngToContainerPoint(at);
    let best = null;
    for (const f of state.roadFeatures) {
      const [a, b] = f.geometry.coordinates.map(([lon, lat]) => map.latLngToContainerPoint([lat, lon]));
      const d = L.LineUtil.pointToSegmentDistance(p, a, b);
      if (d <= ROAD_PICK_PX && (!best || d < best.d)) best = { d, f };
    }
    return best && best.f;
  }
  function roadPanel(f) {
    const p = f.properties;
    const close = "/dispatch?scenario=" + encodeURIComponent(scenarioSelect.value) + "&close=" + f.id.replace(/^road:/, "");
    show(
      "road",
      el("h2", {}, t("layer_roads") + " " + f.id),
      el("p", { class: "muted" }, p.from + " — " + p.to + " · " + p.road_class),
      el("p", {}, t("road_" + p.status) + " · " + num(p.length_km, 1) + " km · " + num(p.speed_kmh) + " km/h"),
      p.status === "closed" ? null : el("a", { id: "close-road", href: close }, t("close_roads"))
    );
  }
  map.on("click", (e) => {
    if (!map.hasLayer(layers.roads)) return;
    const road = nearestRoad(e.latlng);
    if (road) roadPanel(road);
  });
  layers.depots.on("click", (e) => depotPanel(e.layer.feature.properties));
  layers.shelters.on("click", (e) => shelterPanel(e.layer.feature.properties));
  layers.tours.on("click", (e) => tourPanel(e.layer.feature.properties));

  // --- loading -----------------------------------------------------------------------
  async function geojson(path) {
    const answer = await api(path);
    if (!answer.ok) throw new Error(await Relief.problem(answer));
    return answer.json();
  }
  function counts() {
    const n = (layer) => layer.getLayers().length;
    document.getElementById("counts").textContent = [
      t("layer_depots") + " " + num(n(layers.depots)),
      t("layer_shelters") + " " + num(n(layers.shelters)),
      t("layer_roads") + " " + num(state.roads),
      t("layer_tours") + " " + num(n(layers.tours)),
    ].join(" · ");
  }
  function drawRoads(data) {
    const byStatus = { open: [], damaged: [], closed: [] };
    for (const f of data.features) {
      const lines = byStatus[f.properties.status] || byStatus.open;
      lines.push(f.geometry.coordinates.map(([lon, lat]) => [lat, lon]));
    }
    for (const [status, lines] of Object.entries(byStatus)) {
      if (!lines.length) continue;
      const style = {
        color: ROADS[status],
        weight: status === "open" ? 1.5 : 3,
        dashArray: status === "closed" ? "6 4" : null,
        interactive: false,
      };
      layers.roads.addLayer(L.polyline(lines, style));
    }
    state.roads = data.features.length;
    state.roadFeatures = data.features;
  }
  async function load(scenario, plan) {
    state.ready = false;
    const base = "/scenarios/" + encodeURIComponent(scenario) + "/layers/";
    const wanted = [geojson(base + "roads.geojson"), geojson(base + "depots.geojson"), geojson(base + "shelters.geojson")];
    if (plan) {
      const of = "/plans/" + plan + "/layers/";
      wanted.push(geojson(of + "shelters.geojson"), geojson(of + "tours.geojson"), geojson(of + "depots.geojson"));
    }
    const [roads, depots, shelters, planShelters, tours, planDepots] = await Promise.all(wanted);
    performance.mark("layers-fetched");
    Object.values(layers).forEach((layer) => layer.clearLayers());
    drawRoads(roads);
    performance.mark("roads-added");
    if (tours) drawTours(tours);
    if (planShelters) {
      // The plan's coverage; any scenario shelter the plan did not cover stays unplanned.
      const covered = new Set(planShelters.features.map((f) => f.id));
      shelters.features = [...planShelters.features, ...shelters.features.filter((f) => !covered.has(f.id))];
    }
    layers.shelters.addData(shelters);
    performance.mark("shelters-added");
    state.planDepots = {};
    for (const f of planDepots ? planDepots.features : []) state.planDepots[f.id] = f.properties;
    fillItems(depots);
    layers.depots.addData(depots);
    performance.mark("depots-added");
    const bounds = L.latLngBounds([]);
    [layers.depots, layers.shelters].forEach((layer) => layer.getLayers().length && bounds.extend(layer.getBounds()));
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.05));
    else map.setView([35, 105], 4);
    counts();
    performance.mark("drawn");
    // Ready once painted: the canvas draws in the next animation frame, shown in the one after.
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    performance.mark("painted");
    state.ready = true;
    document.getElementById("map").dataset.ready = scenario + "|" + (plan || "");
  }

  const scenarioSelect = document.getElementById("scenario");
  const planSelect = document.getElementById("plan");
  const params = new URLSearchParams(location.search);
  async function plans() {
    // Every done job, page by page (oldest first), at most 20 pages of 1,000.
    const done = [];
    let cursor = null;
    for (let page = 0; page < 20; page++) {
      const answer = await api("/plans?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      if (!answer.ok) break;
      const body = await answer.json();
      done.push(...body.items.filter((j) => j.status === "done"));
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    return done;
  }
  function reload() {
    const params = new URLSearchParams(location.search);
    params.set("scenario", scenarioSelect.value);
    if (planSelect.value) params.set("plan", planSelect.value);
    else params.delete("plan");
    history.replaceState(null, "", "?" + params.toString());
    load(scenarioSelect.value, planSelect.value).catch(showError);
  }
  function showError(err) {
    document.getElementById("counts").textContent = String(err.message || err);
  }
  (async () => {
    const wantedPlan = params.get("plan") || "";
    const wantedScenario = params.get("scenario");
    // When the address names the scenario (the dispatcher's link does), the map is drawn
    // while the plan chooser fills, not after.
    const early = wantedScenario ? load(wantedScenario, wantedPlan) : null;
    if (wantedScenario) scenarioSelect.value = wantedScenario;
    const done = await plans();
    performance.mark("plans-listed");
    for (const j of done.reverse()) {
      planSelect.append(el("option", { value: String(j.id), "data-scenario": j.scenario }, "#" + j.id + " " + j.scenario));
    }
    const chosen = done.find((j) => String(j.id) === wantedPlan);
    if (chosen) {
      planSelect.value = String(chosen.id);
      scenarioSelect.value = chosen.scenario;
    }
    scenarioSelect.addEventListener("change", () => {
      planSelect.value = "";
      reload();
    });
    planSelect.addEventListener("change", () => {
      const option = planSelect.selectedOptions[0];
      if (option && option.dataset.scenario) scenarioSelect.value = option.dataset.scenario;
      reload();
    });
    await (early || load(scenarioSelect.value, planSelect.value));
  })().catch(showError);
})();
