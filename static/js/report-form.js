// The volunteer's report form, enhanced: the phone's location and a map picker.
// Without this script the form is a plain HTML form and works the same.
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  if (!form) return;
  const lat = form.querySelector("#lat");
  const lon = form.querySelector("#lon");
  const status = document.getElementById("draft-status");

  function setPoint(latitude, longitude) {
    lat.value = latitude.toFixed(5);
    lon.value = longitude.toFixed(5);
    lat.dispatchEvent(new Event("input", { bubbles: true }));
  }

  const locate = document.getElementById("use-location");
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", () => {
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          setPoint(position.coords.latitude, position.coords.longitude);
          locate.disabled = false;
          if (status) status.textContent = locate.dataset.found || "";
        },
        () => {
          locate.disabled = false;
          if (status) status.textContent = locate.dataset.failed || "";
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    });
  }

  // The map picker needs Leaflet and, with no tile server, the offline basemap (static/vendor;
  // the size is said under the button): they are fetched only when the volunteer asks for the
  // map, so the form itself stays light.
  const picker = document.getElementById("map-picker");
  const openPicker = document.getElementById("open-map-picker");
  const pickerSize = document.getElementById("map-picker-size");

  function fetchAsset(tag, attributes) {
    return new Promise((resolve, reject) => {
      const node = Object.assign(document.createElement(tag), attributes);
      node.onload = resolve;
      node.onerror = reject;
      document.head.appendChild(node);
    });
  }

  function startPicker() {
    picker.hidden = false;
    const bbox = (picker.dataset.bbox || "").split(",").map(Number);
    const map = window.L.map(picker);
    if (bbox.length === 4 && bbox.every(Number.isFinite)) {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
    } else {
      map.setView([0, 0], 2);
    }
    if (picker.dataset.tiles) {
      window.L.tileLayer(picker.dataset.tiles, { attribution: picker.dataset.attribution || "" }).addTo(map);
    } else if (window.CrisisBasemap) {
      window.CrisisBasemap.add(map, { url: picker.dataset.basemapUrl, attribution: picker.dataset.basemapAttribution });
    }
    if (window.CrisisBasemap) window.CrisisBasemap.addBoundaries(map, picker.dataset.boundaries);
    let marker = null;
    function show(latitude, longitude) {
      if (marker) marker.setLatLng([latitude, longitude]);
      else marker = window.L.marker([latitude, longitude]).addTo(map);
    }
    map.on("click", (event) => {
      setPoint(event.latlng.lat, event.latlng.lng);
      show(event.latlng.lat, event.latlng.lng);
    });
    [lat, lon].forEach((input) => input.addEventListener("input", () => {
      const a = parseFloat(lat.value), b = parseFloat(lon.value);
      if (Number.isFinite(a) && Number.isFinite(b)) show(a, b);
    }));
    const a = parseFloat(lat.value), b = parseFloat(lon.value);
    if (Number.isFinite(a) && Number.isFinite(b)) show(a, b);
    // A place found by its name (place-finder.js): drawn as the circle it may be anywhere in.
    let area = null;
    function showPlace(place) {
      if (area) area.remove();
      area = null;
      if (!place) return;
      area = window.L.circle([place.lat, place.lon], { radius: place.radius_m, className: "place-found", weight: 2 }).addTo(map);
      map.fitBounds(area.getBounds(), { maxZoom: 12 });
    }
    window.addEventListener("crisis-place", (event) => showPlace(event.detail));
    if (window.CrisisLastPlace) showPlace(window.CrisisLastPlace);
  }

  if (picker && window.L) {
    startPicker();
  } else if (picker && openPicker && picker.dataset.leaflet) {
    openPicker.hidden = false;
    if (pickerSize) pickerSize.hidden = false;
    openPicker.addEventListener("click", () => {
      openPicker.disabled = true;
      const scripts = [picker.dataset.leaflet, picker.dataset.basemapJs];
      if (!picker.dataset.tiles) scripts.push(picker.dataset.topojson);
      Promise.all([fetchAsset("link", { rel: "stylesheet", href: picker.dataset.leafletCss }),
        ...scripts.filter(Boolean).map((src) => fetchAsset("script", { src, async: false }))])
        .then(() => { openPicker.hidden = true; if (pickerSize) pickerSize.hidden = true; startPicker(); picker.focus(); })
        .catch(() => { openPicker.disabled = false; });  // the form still takes a typed place
    });
  }
})();
