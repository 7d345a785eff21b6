// The crisis dashboard: draws each chart from the numbers the server put in its data-chart
// attribute (the same numbers as the table beside it) with Chart.js, and the admin areas as a
// choropleth with Leaflet (static/js/map-core.js). A click on a bar, a point or an area opens the
// report list with the matching filters (the links the server made). Nothing from the server is
// put into the page as HTML.
(function () {
  "use strict";

  // Okabe-Ito's colour-blind-safe palette, then a few more distinct ones.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8a7a00", "#000000",
    "#7f7f7f", "#8c564b", "#17becf", "#5b3a8e"];

  function colourOf(index) { return PALETTE[index % PALETTE.length]; }

  function readChart(node) {
    try { return JSON.parse(node.dataset.chart || "{}"); } catch (error) { return null; }
  }

  function open(data, seriesIndex, categoryIndex) {
    const link = data.links && data.links[seriesIndex] && data.links[seriesIndex][categoryIndex];
    if (link) window.location.assign(link);
  }

  function datasets(data) {
    const line = data.kind === "line";
    return data.series.map((series, index) => ({
      label: series.label,
      data: series.values,
      backgroundColor: colourOf(index),
      borderColor: colourOf(index),
      borderWidth: line ? 2 : 0,
      pointRadius: line ? 2 : 0,
      spanGaps: true,
      yAxisID: series.axis === "y1" ? "y1" : "y",
    }));
  }

  function drawChart(canvas) {
    const data = readChart(canvas);
    if (!data || !data.categories || !window.Chart) return;
    const horizontal = data.kind === "hbar" || data.kind === "choropleth";
    const stacked = data.kind === "stacked_bar";
    const scales = {
      x: { stacked, ticks: { autoSkip: true, maxRotation: 60 } },
      y: { stacked, beginAtZero: true },
    };
    if (data.series.some((series) => series.axis === "y1")) {
      scales.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
    }
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      type: data.kind === "line" ? "line" : "bar",
      data: { labels: data.categories, datasets: datasets(data) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "nearest", intersect: true },
        scales: horizontal ? { x: { beginAtZero: true }, y: { ticks: { autoSkip: false } } } : scales,
        plugins: { legend: { position: "bottom", display: data.series.length > 1 } },
        onHover: (event, elements) => {
          const target = event.native && event.native.target;
          if (target) target.style.cursor = elements.length && data.links ? "pointer" : "default";
        },
        onClick: (event, elements) => {
          if (elements.length) open(data, elements[0].datasetIndex, elements[0].index);
        },
      },
    });
  }

  // Darker blue for more reports; the count is in the tooltip and the table (never colour alone).
  function shade(share) {
    const light = 92 - Math.round(share * 62);
    return "hsl(210, 70%, " + light + "%)";
  }

  function drawMap(container) {
    const CM = window.CrisisMap;
    const canvas = document.getElementById(container.dataset.chartRef);
    const data = canvas ? readChart(canvas) : null;
    if (!CM || !window.L || !data) return;
    const codes = (data.columns && data.columns[0] && data.columns[0].values) || [];
    const counts = data.series[0] ? data.series[0].values : [];
    const verified = data.series[1] ? data.series[1].values : [];
    const byCode = new Map(codes.map((code, index) => [code, index]));
    const most = Math.max(1, ...counts);
    const map = CM.createMap(container);
    const bounds = CM.boundsOf((container.dataset.bbox || "").split(",").filter(Boolean));
    if (bounds) map.fitBounds(bounds); else map.setView([0, 0], 2);
    CM.fetchJSON(container.dataset.boundaries).then((shapes) => {
      const layer = L.geoJSON(shapes, {
        style: (feature) => {
          const index = byCode.get(feature.properties.pcode);
          const count = index === undefined ? 0 : counts[index];
          return { color: "#335", weight: 1, fillOpacity: 0.75, fillColor: shade(count / most) };
        },
        onEachFeature: (feature, shape) => {
          const index = byCode.get(feature.properties.pcode);
          const text = feature.properties.name + " (" + feature.properties.pcode + "): " +
            (index === undefined ? 0 : counts[index]) + " / " + (index === undefined ? 0 : verified[index]);
          shape.bindTooltip(CM.element("span", "", text));
          if (index !== undefined) shape.on("click", () => open(data, 0, index));
        },
      }).addTo(map);
      if (!bounds && layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
    }).catch(() => {});
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("canvas[data-chart]").forEach(drawChart);
    document.querySelectorAll(".dashboard-map").forEach(drawMap);
  });
}());
