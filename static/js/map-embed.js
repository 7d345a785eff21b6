// Live maps in wiki pages (```map blocks) and layer previews: each
// <div class="crisiswiki-map" data-map-...> becomes a map of the crisis's reports (with the
// block's filters) and the chosen layers. The page's HTML is cached per revision, so the data
// is fetched here, each time the page is viewed.
(function () {
  "use strict";
  const CM = window.CrisisMap;
  if (!CM || typeof L === "undefined") return;
  const FILTERS = ["q", "sector", "status", "since", "until", "adm"];

  function crisisFromPath() {
    const match = /^\/c\/([^/]+)\//.exec(window.location.pathname);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showError(box, message) {
    box.replaceChildren(CM.element("p", "map-error", message));
  }

  // A problem with data for a map that is drawn: said below it, the map stays.
  function note(box, message) {
    let line = box.nextElementSibling && box.nextElementSibling.classList.contains("map-embed-problems") ? box.nextElementSibling : null;
    if (!line) {
      line = CM.element("p", "map-error map-embed-problems");
      line.setAttribute("role", "status");
      box.insertAdjacentElement("afterend", line);
    }
    line.textContent = message;
  }

  function embed(box) {
    const options = box.dataset;
    const crisis = options.mapCrisis || crisisFromPath();
    if (!crisis) { showError(box, CM.labels.no_crisis); return; }
    const height = parseInt(options.mapHeight, 10);
    if (height) box.style.height = height + "px";
    box.replaceChildren();
    const map = CM.createMap(box, crisis);
    const filters = {};
    for (const key of FILTERS) if (options["map" + key[0].toUpperCase() + key.slice(1)]) filters[key] = options["map" + key[0].toUpperCase() + key.slice(1)];
    const showReports = options.mapReports !== "no";
    const reports = showReports ? CM.reportLayer(map) : null;
    let request = null;

    function refresh() {
      if (!reports) return;
      if (request) request.abort();
      request = new AbortController();
      CM.fetchJSON(CM.reportsURL(crisis, map, filters), request.signal).then((data) => {
        reports.draw(data);
        box.dataset.mode = data.mode;
        box.dataset.total = String(data.total);
      }).catch((error) => { if (error.name !== "AbortError") note(box, CM.format(CM.labels.failed, { error: error.message })); });
    }

    const layerIds = (options.mapLayers || "").split(",").filter((id) => /^\d+$/.test(id));
    const loads = layerIds.map((id) => CM.loadLayer(id).then(({ layer }) => { layer.addTo(map); return layer.getBounds(); })
      .catch(() => { note(box, CM.format(CM.labels.layer_failed, { id })); return null; }));
    const crisisBounds = CM.fetchJSON(CM.config.apiCrisis + encodeURIComponent(crisis)).then((data) => CM.boundsOf(data.bbox))
      .catch(() => null);

    // The report a report page is about, where its viewer may see it (data-map-here, from the
    // visibility rule: a sensitive report's grid cell), outlined; the map opens around it.
    const here = (options.mapHere || "").split(",").map(Number);
    let hereBounds = null;
    if (here.length === 2 && here.every(isFinite)) {
      const radius = parseFloat(options.mapHereRadius) || 0;
      const mark = radius > 0
        ? L.circle(here, { radius, className: "report-here", color: "#b42318", weight: 3, fillOpacity: 0.1 })
        : L.circleMarker(here, { radius: 11, className: "report-here", color: "#b42318", weight: 3, fillOpacity: 0 });
      mark.bindTooltip(options.mapHereLabel || "").addTo(map);
      hereBounds = radius > 0 ? L.latLng(here).toBounds(radius * 6) : L.latLng(here).toBounds(3000);
    }

    Promise.all([crisisBounds, ...loads]).then(([area, ...layerBounds]) => {
      if (hereBounds) {
        map.fitBounds(hereBounds);
        map.on("moveend", refresh);
        refresh();
        return;
      }
      const center = (options.mapCenter || "").split(",").map(Number);
      const zoom = parseInt(options.mapZoom, 10);
      let bounds = null;
      for (const found of layerBounds) if (found && found.isValid()) bounds = bounds ? bounds.extend(found) : L.latLngBounds(found.getSouthWest(), found.getNorthEast());
      if (center.length === 2 && center.every(isFinite)) map.setView([center[0], center[1]], isFinite(zoom) ? zoom : 10);
      else if (bounds && !showReports) map.fitBounds(bounds, { padding: [10, 10] });
      else if (area) map.fitBounds(area);
      else if (bounds) map.fitBounds(bounds, { padding: [10, 10] });
      else map.setView([0, 0], 2);
      if (isFinite(zoom) && !(center.length === 2 && center.every(isFinite))) map.setZoom(zoom);
      map.on("moveend", refresh);
      refresh();
    });

    const link = CM.element("a", "map-embed-link", CM.labels.open_map);
    const params = new URLSearchParams(filters);
    if (layerIds.length) params.set("layers", layerIds.join(","));
    link.href = CM.config.mapPage.replace("/c/-/", "/c/" + encodeURIComponent(crisis) + "/") + (params.toString() ? "?" + params.toString() : "");
    const wrapper = CM.element("p");
    wrapper.appendChild(link);
    box.insertAdjacentElement("afterend", wrapper);
  }

  document.querySelectorAll("div.crisiswiki-map").forEach((box) => {
    try { embed(box); } catch (error) { showError(box, CM.format(CM.labels.failed, { error: error.message })); }
  });
}());
