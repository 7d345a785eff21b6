// The verifier queue, faster by keyboard: j/k (or the arrow keys) move the focus from report to
// report, A-F and 1-6 choose the grading of the report in focus (its row's two fields, which
// work without this script too), Enter saves it, t takes the report, o opens it. The one
// Matrix beside the list follows the report in focus. Typing in a field is never intercepted.
(function () {
  "use strict";
  const table = document.getElementById("verifier-queue");
  if (!table || !table.dataset.gradeFocus) return;
  const rows = Array.from(table.querySelectorAll("tr.queue-row"));
  const title = document.getElementById("focus-report");
  const cells = Array.from(document.querySelectorAll(".queue-focus td.cell"));
  let current = null;

  function fields(row) {
    return { reliability: row.querySelector(".grade-reliability"), credibility: row.querySelector(".grade-credibility") };
  }

  function showGrid() {
    const chosen = current ? fields(current) : null;
    const code = chosen ? (chosen.reliability.value || "") + (chosen.credibility.value || "") : "";
    for (const cell of cells) {
      const on = cell.dataset.code === code;
      cell.classList.toggle("selected", on);
      if (on) cell.setAttribute("aria-current", "true"); else cell.removeAttribute("aria-current");
    }
  }

  function focus(row) {
    if (!row) return;
    if (current) current.classList.remove("in-focus");
    current = row;
    row.classList.add("in-focus");
    row.focus();
    if (title) title.textContent = "#" + row.dataset.reportId + " " + row.dataset.title;
    showGrid();
  }

  function move(step) {
    const index = current ? rows.indexOf(current) : -1;
    focus(rows[Math.max(0, Math.min(rows.length - 1, index + step))]);
  }

  for (const row of rows) {
    row.addEventListener("click", (event) => { if (!event.target.closest("a, button, select, input")) focus(row); });
    row.addEventListener("focusin", () => { if (current !== row) focus(row); });
    for (const field of Object.values(fields(row))) field.addEventListener("change", showGrid);
  }
  for (const cell of cells) {
    cell.addEventListener("click", () => {
      if (!current || !cell.dataset.code) return;
      const chosen = fields(current);
      chosen.reliability.value = cell.dataset.code[0];
      chosen.credibility.value = cell.dataset.code[1];
      showGrid();
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches && target.matches("input, textarea, select")) return;
    const key = event.key;
    if (key === "j" || key === "ArrowDown") { move(1); event.preventDefault(); return; }
    if (key === "k" || key === "ArrowUp") { move(-1); event.preventDefault(); return; }
    if (!current) return;
    const chosen = fields(current);
    if (/^[a-fA-F]$/.test(key)) { chosen.reliability.value = key.toUpperCase(); showGrid(); event.preventDefault(); return; }
    if (/^[1-6]$/.test(key)) { chosen.credibility.value = key; showGrid(); event.preventDefault(); return; }
    if (key === "Enter" && target === current && chosen.reliability.value && chosen.credibility.value) {
      current.querySelector("form.grade-inline").requestSubmit();
      event.preventDefault();
      return;
    }
    if (key === "t") { const take = current.querySelector(".queue-take"); if (take) take.click(); return; }
    if (key === "o") { const open = current.querySelector(".queue-open"); if (open) open.click(); }
  });

  // Back from a grading: the focus goes to the report after the one just graded.
  const wanted = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (wanted && rows.includes(wanted)) focus(wanted);
}());
