// The crisis map page (/c/<crisis>/map): reports in view (points or server clusters), layer
// toggles, the filter panel, the list beside the map, reports per admin area, and the URL,
// which keeps the view (lat, lon, zoom), the filters and the layers so a link reopens it.
(function () {
  "use strict";
  const CM = window.CrisisMap;
  const container = document.getElementById("crisis-map");
  if (!CM || !container || typeof L === "undefined") return;

  const crisis = container.dataset.crisis;
  const form = document.getElementById("map-filters");
  const list = document.getElementById("map-list");
  const status = document.getElementById("map-status");
  const FILTERS = ["q", "sector", "status", "since", "until", "adm", "min_score"];
  const LIST_LIMIT = 200;
  const url = new URL(window.location.href);
  const state = { filters: {}, layers: new Set(), areas: url.searchParams.get("areas") || "" };
  for (const key of FILTERS) if (url.searchParams.get(key)) state.filters[key] = url.searchParams.get(key);
  for (const id of (url.searchParams.get("layers") || "").split(",")) if (/^\d+$/.test(id)) state.layers.add(id);

  const map = CM.createMap(container, crisis);
  const reports = CM.reportLayer(map);
  const loadedLayers = new Map();
  let areaLayer = null;
  let request = null;
  let timer = null;

  function startView() {
    const lat = parseFloat(url.searchParams.get("lat")), lon = parseFloat(url.searchParams.get("lon"));
    const zoom = parseInt(url.searchParams.get("zoom"), 10);
    if (isFinite(lat) && isFinite(lon) && isFinite(zoom)) { map.setView([lat, lon], zoom); return; }
    const bounds = CM.boundsOf((container.dataset.bbox || "").split(",").filter(Boolean));
    if (bounds) map.fitBounds(bounds); else map.setView([0, 0], 2);
  }

  function writeURL() {
    const params = new URLSearchParams();
    const centre = map.getCenter();
    params.set("lat", centre.lat.toFixed(5));
    params.set("lon", centre.lng.toFixed(5));
    params.set("zoom", String(map.getZoom()));
    for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
    if (state.layers.size) params.set("layers", Array.from(state.layers).join(","));
    if (state.areas) params.set("areas", state.areas);
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
  }

  function listItem(props) {
    const item = CM.element("li");
    item.appendChild(CM.markerElement(props));
    const link = CM.element("a", "", props.title);
    link.href = props.url;
    item.appendChild(link);
    const sector = (CM.labels.sectors && CM.labels.sectors[props.sector]) || props.sector;
    const when = (props.occurred_at || props.received_at || "").slice(0, 10);
    const score = CM.assessmentText(props);
    item.appendChild(CM.element("small", "", " " + [CM.statusLabel(props.status), sector, when, score].filter(Boolean).join(" · ")));
    return item;
  }

  function showList(features, total) {
    list.replaceChildren(...features.slice(0, LIST_LIMIT).map((feature) => listItem(feature.properties)));
    if (!total) status.textContent = CM.labels.no_reports;
    else if (features.length < total) status.textContent = CM.format(CM.labels.newest_shown, { n: total, shown: Math.min(features.length, LIST_LIMIT) });
    else status.textContent = CM.format(CM.labels.reports_in_view, { n: total });
  }

  function refresh() {
    if (request) request.abort();
    request = new AbortController();
    const signal = request.signal;
    status.textContent = CM.labels.loading;
    CM.fetchJSON(CM.reportsURL(crisis, map, state.filters), signal).then((data) => {
      reports.draw(data);
      container.dataset.mode = data.mode;
      container.dataset.total = String(data.total);
      const points = data.features.filter((feature) => !(feature.properties && feature.properties.cluster));
      if (points.some((feature) => typeof feature.properties.score === "number")) {
        document.querySelectorAll(".map-score-legend").forEach((node) => { node.hidden = false; });
      }
      if (points.some((feature) => CM.notAssessed(feature.properties))) {
        document.querySelectorAll(".map-assessment-legend").forEach((node) => { node.hidden = false; });
      }
      if (data.mode === "points") {
        points.sort((a, b) => b.properties.id - a.properties.id);
        showList(points, data.total);
        return null;
      }
      // Clusters: list the newest reports in view from the reports API.
      const params = new URLSearchParams(Object.assign({ crisis, limit: "50" }, { bbox: CM.viewParams(map).bbox }));
      for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
      return CM.fetchJSON(CM.config.apiList + "?" + params.toString(), signal).then((page) => showList(page.features, data.total));
    }).catch((error) => {
      if (error.name !== "AbortError") status.textContent = CM.format(CM.labels.failed, { error: error.message });
    });
    if (areaLayer !== null || state.areas) refreshAreas();
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { writeURL(); refresh(); }, 200);
  }

  function toggleLayer(id, on) {
    if (on) {
      state.layers.add(id);
      if (!loadedLayers.has(id)) {
        loadedLayers.set(id, null);
        CM.loadLayer(id).then(({ layer }) => {
          if (!state.layers.has(id)) return;
          loadedLayers.set(id, layer);
          layer.addTo(map);
        }).catch(() => { status.textContent = CM.format(CM.labels.layer_failed, { id }); loadedLayers.delete(id); });
      } else if (loadedLayers.get(id)) loadedLayers.get(id).addTo(map);
    } else {
      state.layers.delete(id);
      if (loadedLayers.get(id)) map.removeLayer(loadedLayers.get(id));
    }
    writeURL();
  }

  // Reports per admin area: shaded polygons (darker = more reports, the count in the label
  // and the table, so shade is never the only signal).
  const areaToggle = document.getElementById("map-areas-toggle");
  const areaLevel = document.getElementById("map-areas-level");
  const areaTable = document.getElementById("map-area-table");

  function refreshAreas() {
    if (!areaToggle) return;
    if (!state.areas) {
      if (areaLayer) { map.removeLayer(areaLayer); areaLayer = null; }
      areaTable.hidden = true;
      return;
    }
    const level = state.areas;
    const params = new URLSearchParams({ crisis, level });
    for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
    Promise.all([
      CM.fetchJSON(CM.config.apiAreas + "?" + params.toString()),
      CM.fetchJSON(container.dataset.boundaries + "?level=" + encodeURIComponent(level)),
    ]).then(([counts, shapes]) => {
      if (state.areas !== level) return;
      const byCode = new Map(counts.areas.map((area) => [area.pcode, area]));
      const most = Math.max(1, ...counts.areas.map((area) => area.count));
      if (areaLayer) map.removeLayer(areaLayer);
      areaLayer = L.geoJSON(shapes, {
        style: (feature) => {
          const area = byCode.get(feature.properties.pcode);
          const share = area ? area.count / most : 0;
          return { color: "#12324f", weight: 1, fillColor: "#0b5cad", fillOpacity: 0.05 + 0.55 * share };
        },
        onEachFeature: (feature, layer) => {
          const area = byCode.get(feature.properties.pcode) || { count: 0 };
          // An element, not a string: Leaflet puts a string into the page as HTML, and an area's
          // name comes from the uploaded boundaries file.
          layer.bindTooltip(CM.element("span", "", CM.format(CM.labels.area_reports,
            { name: feature.properties.name, pcode: feature.properties.pcode, n: area.count })));
        },
      }).addTo(map);
      areaLayer.bringToBack();
      const body = areaTable.tBodies[0];
      body.replaceChildren(...counts.areas.slice().sort((a, b) => b.count - a.count).map((area) => {
        const row = CM.element("tr");
        row.appendChild(CM.element("td", "", area.name));
        row.appendChild(CM.element("td", "", area.pcode));
        row.appendChild(CM.element("td", "", area.count));
        return row;
      }));
      if (counts.unassigned) {
        const row = CM.element("tr");
        row.appendChild(CM.element("td", "", CM.labels.unassigned));
        row.appendChild(CM.element("td", "", "—"));
        row.appendChild(CM.element("td", "", counts.unassigned));
        body.appendChild(row);
      }
      areaTable.hidden = false;
    }).catch((error) => { status.textContent = CM.format(CM.labels.failed, { error: error.message }); });
  }

  startView(); // before anything asks the map where it is

  if (areaToggle) {
    if (state.areas) { areaToggle.checked = true; areaLevel.value = state.areas; }
    areaToggle.addEventListener("change", () => { state.areas = areaToggle.checked ? areaLevel.value : ""; writeURL(); refreshAreas(); });
    areaLevel.addEventListener("change", () => { if (areaToggle.checked) { state.areas = areaLevel.value; writeURL(); refreshAreas(); } });
  }

  document.querySelectorAll(".map-layer-toggle").forEach((box) => {
    const id = box.dataset.layerId;
    box.checked = state.layers.has(id);
    box.addEventListener("change", () => toggleLayer(id, box.checked));
    if (box.checked) { state.layers.delete(id); toggleLayer(id, true); }
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    state.filters = {};
    for (const key of FILTERS) {
      const value = data.get(key);
      if (value) state.filters[key] = String(value);
      else if (!form.elements[key] && url.searchParams.get(key)) state.filters[key] = url.searchParams.get(key);
    }
    writeURL();
    refresh();
  });

  map.on("moveend", schedule);
  writeURL();
  refresh();
}());
