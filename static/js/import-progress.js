// The import progress page, enhanced: the bar follows the import every second (from the
// status JSON) and the page shows the result as soon as the import has finished. Without this
// script the page refreshes itself every few seconds and works the same.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || !window.fetch) return;
  const bar = box.querySelector('[data-field="bar"]');
  const rows = box.querySelector('[data-field="rows"]');

  function show(status) {
    if (status.finished) {
      window.location.reload();
      return false;
    }
    if (bar && status.rows_total) {
      bar.max = status.rows_total;
      bar.value = status.rows_done;
    }
    if (rows && rows.textContent) {
      rows.textContent = rows.textContent.replace(/^[\d\s,.\u00a0\u202f]+/, status.rows_done.toLocaleString() + " ");
    }
    return true;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((status) => {
        if (status === null || show(status)) window.setTimeout(poll, 1000);
      })
      .catch(() => window.setTimeout(poll, 3000));
  }
  window.setTimeout(poll, 1000);
})();
