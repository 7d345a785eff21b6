// The offline basemap, drawn when no tile server is configured (MAP_TILE_URL empty, the
// default): land, coastlines and country borders from Natural Earth 1:50m (the world-atlas
// package's TopoJSON, vendored, turned into GeoJSON here by topojson-client) in the map's lowest
// pane, on a water-coloured background. Nothing leaves the site. The crisis's admin boundaries
// are drawn on top of it (and on top of tiles, when there are tiles) as outlines.
// Used by the crisis map, the maps embedded in pages and the report form's map picker alike.
(function () {
  "use strict";

  let world = null; // one download and one conversion per page, however many maps it has

  function loadWorld(url) {
    if (!world) {
      world = fetch(url, { credentials: "same-origin" }).then((response) => {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.json();
      }).then((topology) => ({
        land: window.topojson.feature(topology, topology.objects.land),
        // Borders between two countries only: coastlines are the land's own outline.
        borders: window.topojson.mesh(topology, topology.objects.countries, (a, b) => a !== b),
      }));
      world.catch(() => { world = null; }); // a later map may try again
    }
    return world;
  }

  // Leaflet's panes: tiles 200, layers 400, markers 600. Set from script (CSSOM), which the
  // Content-Security-Policy allows; the report form's picker has no map stylesheet.
  const PANES = { basemap: 150, outlines: 350 };
  const WATER = "#c6dbe9";

  function pane(map, name) {
    if (map.getPane(name)) return map.getPane(name);
    const created = map.createPane(name);
    created.style.zIndex = String(PANES[name]);
    created.style.pointerEvents = "none";
    return created;
  }

  // Land and borders under everything else. Resolves once drawn; the container says how it
  // went in data-basemap ("drawn" or "failed": then the map stays on its plain background).
  function add(map, options) {
    const container = map.getContainer();
    container.classList.add("map-basemap");
    container.style.backgroundColor = WATER;
    if (!options.url || !window.topojson) {
      container.dataset.basemap = "failed";
      return Promise.resolve(false);
    }
    pane(map, "basemap");
    const renderer = L.svg({ pane: "basemap", padding: 0.5 });
    return loadWorld(options.url).then(({ land, borders }) => {
      L.geoJSON(land, { pane: "basemap", renderer, interactive: false,
        style: { className: "basemap-land", stroke: true, color: "#9c9482", weight: 0.8, fill: true, fillColor: "#f2efe6", fillOpacity: 1 } }).addTo(map);
      L.geoJSON(borders, { pane: "basemap", renderer, interactive: false,
        style: { className: "basemap-border", color: "#a0988a", weight: 1, dashArray: "4 3", fill: false } }).addTo(map);
      if (options.attribution && map.attributionControl) map.attributionControl.addAttribution(options.attribution);
      container.dataset.basemap = "drawn";
      return true;
    }).catch(() => {
      container.dataset.basemap = "failed";
      container.classList.add("map-plain");
      container.style.backgroundColor = "";
      return false;
    });
  }

  // The crisis's admin areas of level 1 as outlines (from /api/v1/crises/<crisis>/boundaries),
  // above the land or the tiles and below the layers and reports. Not interactive: the crisis
  // map's "reports per admin area" shading is what answers clicks on areas.
  function addBoundaries(map, url) {
    if (!url) return Promise.resolve(0);
    pane(map, "outlines");
    const renderer = L.svg({ pane: "outlines", padding: 0.5 });
    return fetch(url, { headers: { Accept: "application/geo+json, application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { features: [] }))
      .then((data) => {
        const features = (data && data.features) || [];
        if (features.length) {
          L.geoJSON(data, { pane: "outlines", renderer, interactive: false,
            style: { className: "basemap-admin", color: "#6b5b95", weight: 1.2, opacity: 0.8, fill: false } }).addTo(map);
        }
        map.getContainer().dataset.adminAreas = String(features.length);
        return features.length;
      })
      .catch(() => 0);
  }

  window.CrisisBasemap = { add, addBoundaries };
}());
