// What the crisis map and the map embeds share: map set-up (tiles or the offline basemap),
// report markers (a status letter and colour, or a score colour, or neutral when not yet
// assessed), clusters, layers styled
// with simplestyle, and popups. Data from the server is only ever put into the page with
// textContent, never as HTML: a property like <img src=x onerror=...> stays text.
(function () {
  "use strict";

  const configElement = document.getElementById("crisiswiki-map-config");
  const config = configElement ? configElement.dataset : {};
  let labels = {};
  try { labels = JSON.parse(config.i18n || "{}"); } catch (error) { labels = {}; }

  const STYLE_KEYS = new Set(["marker-color", "marker-size", "marker-symbol", "stroke", "stroke-width", "stroke-opacity",
    "fill", "fill-opacity"]);
  const MARKER_RADIUS = { small: 5, medium: 7, large: 10 };

  function format(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function colour(value) {
    if (typeof value !== "string") return null;
    const match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
    return match ? "#" + match[1] : null;
  }

  function number(value, low, high) {
    return typeof value === "number" && isFinite(value) && value >= low && value <= high ? value : null;
  }

  // Red (0, doubtful) through amber to green (1, likely true); dark enough for white letters.
  function scoreColour(score) {
    const s = Math.max(0, Math.min(1, score));
    return "hsl(" + Math.round(s * 120) + ", 75%, 32%)";
  }

  // A map with the deployment's tiles, or else the offline basemap (static/js/basemap.js), and
  // the crisis's admin boundaries as outlines when a crisis is given.
  function createMap(container, crisis) {
    const map = L.map(container, { worldCopyJump: true, zoomSnap: 1, minZoom: 1, maxZoom: 19 });
    const basemap = window.CrisisBasemap;
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19, crossOrigin: false }).addTo(map);
    } else if (basemap) {
      basemap.add(map, { url: config.basemapUrl, attribution: config.basemapAttribution });
    } else {
      container.classList.add("map-plain"); // no tile server and no basemap: layers and reports on a plain background
    }
    if (crisis && basemap) basemap.addBoundaries(map, config.apiCrisis + encodeURIComponent(crisis) + "/boundaries?level=1");
    return map;
  }

  function statusLabel(status) {
    return (labels.statuses && labels.statuses[status]) || status;
  }

  // A plugin's assessment of the report, e.g. the validation plugin's "not_assessed": nothing is
  // known of it yet, so it is drawn in a neutral style with no score, never in a verdict colour.
  function notAssessed(props) {
    return Boolean(props.assessment && props.assessment.state === "not_assessed");
  }

  function markerElement(props) {
    const letters = labels.letters || {};
    const node = element("span", "map-marker status-" + String(props.status || "new").replace(/[^a-z_]/g, ""),
      letters[props.status] || "?");
    if (notAssessed(props)) {
      node.classList.add("not-assessed");
    } else if (typeof props.score === "number") {
      node.classList.add("by-score");
      node.style.backgroundColor = scoreColour(props.score);
    }
    if (props.location_coarsened) node.classList.add("map-marker-coarse");
    if (isApproximate(props)) node.classList.add("map-marker-approximate");
    return node;
  }

  // Located by a named place or an admin area: known only within a radius, drawn as a circle.
  function isApproximate(props) {
    return (props.location_kind === "place" || props.location_kind === "area") && number(props.radius_m, 1, 2e7) !== null;
  }

  function scoreText(score) {
    return Math.round(score * 100) + "%";
  }

  // On the map a scored marker also carries its score as text under it: its colour is never
  // the only sign (the letter gives the status, the border shape some statuses). A report not
  // yet assessed has no score badge; its title and popup say so.
  function reportIcon(props) {
    const node = markerElement(props);
    if (typeof props.score === "number" && !notAssessed(props)) node.appendChild(element("span", "map-marker-score", scoreText(props.score)));
    return L.divIcon({ html: node, className: "map-marker-wrap", iconSize: [24, 24], iconAnchor: [12, 12],
      popupAnchor: [0, -12] });
  }

  // What the marker says besides its status: its score, or that it is not yet assessed.
  function assessmentText(props) {
    if (notAssessed(props)) return labels.not_assessed || "not yet assessed";
    if (typeof props.score === "number") return (labels.score || "score") + " " + scoreText(props.score);
    return "";
  }

  function markerTitle(props) {
    const facts = [statusLabel(props.status)];
    if (assessmentText(props)) facts.push(assessmentText(props));
    return props.title + " (" + facts.join(", ") + ")";
  }

  function reportPopup(props) {
    const box = element("div", "map-popup");
    const title = element("a", "map-popup-title", props.title);
    title.href = props.url;
    box.appendChild(title);
    const sector = (labels.sectors && labels.sectors[props.sector]) || props.sector;
    box.appendChild(element("p", "map-popup-meta", statusLabel(props.status) + " · " + sector));
    const when = props.occurred_at || props.received_at;
    const place = [props.place_name, props.adm2_name, props.adm1_name].filter(Boolean).join(", ");
    if (when || place) box.appendChild(element("p", "map-popup-meta", [when ? when.slice(0, 10) : "", place].filter(Boolean).join(" · ")));
    if (notAssessed(props)) {
      box.appendChild(element("p", "map-popup-meta", labels.not_assessed || "not yet assessed"));
      if (props.assessment.reason) box.appendChild(element("p", "map-popup-meta", props.assessment.reason));
    } else if (typeof props.score === "number") {
      box.appendChild(element("p", "map-popup-meta", (labels.score || "score") + " " + props.score.toFixed(2)));
    }
    if (props.location_coarsened) box.appendChild(element("p", "map-popup-meta", labels.approximate));
    if (isApproximate(props)) {
      box.appendChild(element("p", "map-popup-meta", format(props.location_kind === "area" ? labels.in_area : labels.around_place,
        { km: (props.radius_m / 1000).toFixed(1) })));
    }
    const open = element("a", "", labels.open_report || "Open");
    open.href = props.url;
    box.appendChild(open);
    return box;
  }

  function reportMarker(feature) {
    const [lon, lat] = feature.geometry.coordinates;
    const props = feature.properties;
    const marker = L.marker([lat, lon], { icon: reportIcon(props), title: markerTitle(props), alt: props.title, keyboard: true,
      riseOnHover: true });
    marker.bindPopup(() => reportPopup(props));
    marker.feature = feature;
    return marker;
  }

  function clusterMarker(feature, map) {
    const [lon, lat] = feature.geometry.coordinates;
    const count = feature.properties.count;
    const size = count < 100 ? 34 : count < 1000 ? 42 : 50;
    const node = element("span", "map-cluster", count >= 10000 ? Math.round(count / 1000) + "k" : count);
    const marker = L.marker([lat, lon], { icon: L.divIcon({ html: node, className: "map-cluster-wrap", iconSize: [size, size] }),
      title: format(labels.cluster, { n: count }), keyboard: true });
    marker.on("click", () => {
      const [west, south, east, north] = feature.bbox;
      if (east - west < 1e-9 && north - south < 1e-9) map.setView([lat, lon], Math.min(map.getZoom() + 3, map.getMaxZoom()));
      else map.fitBounds([[south, west], [north, east]], { padding: [20, 20] });
    });
    marker.feature = feature;
    return marker;
  }

  // Draws one response of /api/v1/map/reports: points go into a markercluster group (which
  // spiderfies reports at the same place), server clusters are drawn as they come.
  // The area a report located by a place or an admin area may be in: a circle of its radius.
  function areaCircle(feature) {
    const [lon, lat] = feature.geometry.coordinates;
    const props = feature.properties;
    const circle = L.circle([lat, lon], { radius: props.radius_m, className: "report-area report-area-" + props.location_kind,
      color: "#1f5f99", weight: 1, fillOpacity: 0.08, interactive: true });
    circle.bindPopup(() => reportPopup(props));
    return circle;
  }

  function reportLayer(map) {
    const points = L.markerClusterGroup({ showCoverageOnHover: false, spiderfyOnMaxZoom: true, maxClusterRadius: 50,
      chunkedLoading: true });
    const clusters = L.layerGroup();
    const areas = L.layerGroup();
    areas.addTo(map);
    points.addTo(map);
    clusters.addTo(map);
    return {
      draw(data) {
        points.clearLayers();
        clusters.clearLayers();
        areas.clearLayers();
        const markers = [];
        for (const feature of data.features) {
          if (!feature.geometry) continue; // location unknown: listed, not drawn
          if (feature.properties && feature.properties.cluster) clusters.addLayer(clusterMarker(feature, map));
          else {
            if (isApproximate(feature.properties)) areas.addLayer(areaCircle(feature));
            markers.push(reportMarker(feature));
          }
        }
        points.addLayers(markers);
      },
      clear() { points.clearLayers(); clusters.clearLayers(); areas.clearLayers(); },
      remove() { map.removeLayer(points); map.removeLayer(clusters); map.removeLayer(areas); },
    };
  }

  function pathStyle(props) {
    return {
      color: colour(props.stroke) || "#555555",
      weight: number(props["stroke-width"], 0, 50) ?? 2,
      opacity: number(props["stroke-opacity"], 0, 1) ?? 1,
      fillColor: colour(props.fill) || "#555555",
      fillOpacity: number(props["fill-opacity"], 0, 1) ?? 0.6,
    };
  }

  function featurePopup(feature, metadata) {
    const props = feature.properties || {};
    const box = element("div", "map-popup");
    const heading = props.title || props.name || metadata.title;
    box.appendChild(element("strong", "map-popup-title", heading));
    if (typeof props.description === "string" && props.description) box.appendChild(element("p", "map-popup-meta", props.description));
    const table = element("table");
    for (const [key, value] of Object.entries(props)) {
      if (STYLE_KEYS.has(key) || key === "title" || key === "description") continue;
      const row = element("tr");
      row.appendChild(element("th", "", key));
      row.appendChild(element("td", "", value !== null && typeof value === "object" ? JSON.stringify(value) : value));
      table.appendChild(row);
    }
    if (table.childNodes.length) box.appendChild(table);
    box.appendChild(element("p", "map-popup-meta", metadata.title + (metadata.source ? " · " + metadata.source : "")));
    return box;
  }

  function geoJSONLayer(data) {
    const metadata = data.metadata || {};
    const defaults = metadata.style || {};
    return L.geoJSON(data, {
      style: (feature) => pathStyle(Object.assign({}, defaults, (feature && feature.properties) || {})),
      pointToLayer: (feature, latlng) => {
        const props = Object.assign({}, defaults, feature.properties || {});
        const fill = colour(props["marker-color"]) || "#7e7e7e";
        return L.circleMarker(latlng, { radius: MARKER_RADIUS[props["marker-size"]] || MARKER_RADIUS.medium, color: "#ffffff",
          weight: 2, fillColor: fill, fillOpacity: 0.95 });
      },
      onEachFeature: (feature, layer) => layer.bindPopup(() => featurePopup(feature, metadata)),
    });
  }

  function fetchJSON(url, signal) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal }).then((response) => {
      if (!response.ok) {
        return response.json().catch(() => ({})).then((body) => {
          throw new Error((body.error && body.error.message) || response.status + " " + response.statusText);
        });
      }
      return response.json();
    });
  }

  function loadLayer(id) {
    return fetchJSON(config.apiLayer + encodeURIComponent(id)).then((data) => ({ data, layer: geoJSONLayer(data) }));
  }

  // The view as query parameters: bbox clamped to the world (Leaflet's may wrap), rounded.
  function viewParams(map) {
    const bounds = map.getBounds();
    const clamp = (value, low, high) => Math.max(low, Math.min(high, value));
    const west = clamp(bounds.getWest(), -180, 180), east = clamp(bounds.getEast(), -180, 180);
    const south = clamp(bounds.getSouth(), -90, 90), north = clamp(bounds.getNorth(), -90, 90);
    return { bbox: [west, south, east, north].map((v) => v.toFixed(5)).join(","), zoom: String(map.getZoom()) };
  }

  function reportsURL(crisis, map, filters) {
    const params = new URLSearchParams(Object.assign({ crisis }, viewParams(map)));
    for (const [key, value] of Object.entries(filters || {})) if (value) params.set(key, value);
    return config.apiReports + "?" + params.toString();
  }

  function boundsOf(bbox) {
    if (!bbox || bbox.length !== 4) return null;
    const [west, south, east, north] = bbox.map(Number);
    return L.latLngBounds([south, west], [north, east]);
  }

  window.CrisisMap = {
    config, labels, format, element, createMap, reportLayer, reportMarker, markerElement, geoJSONLayer, loadLayer,
    fetchJSON, reportsURL, viewParams, boundsOf, statusLabel, scoreColour, scoreText, colour, pathStyle, notAssessed,
    assessmentText, isApproximate, areaCircle,
  };
}());
