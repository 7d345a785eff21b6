// The report form's place field, offline: a typed place name or P-code is looked up in the
// crisis's gazetteer kept on the phone (/api/v1/crises/<crisis>/gazetteer, public place names
// only, kept by the service worker). One place found: its id goes with the report (the server
// places the report exactly there) and the map picker shows it; several: the volunteer chooses.
// Nothing found: the name goes as typed and the server looks for it when the report is sent.
// Names are compared as wiki/places/names.py key() compares them: no case, no accents, no
// punctuation, Arabic letter forms unified and the article taken off.
(function () {
  "use strict";
  const input = document.getElementById("place_name");
  const form = document.getElementById("report-form");
  if (!input || !form || !input.dataset.gazetteer || !window.fetch) return;
  const status = document.getElementById("place-found");
  const choices = document.getElementById("place-suggestions");
  const SPECIFICITY = { facility: 5, adm3: 4, adm2: 3, city: 2, adm1: 1 };
  const ARABIC_FORMS = { "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي" };
  const COORDINATES = /^\s*-?\d{1,2}(\.\d+)?\s*[,; ]\s*-?\d{1,3}(\.\d+)?\s*$/;

  function key(text) {
    const folded = text.toLowerCase().normalize("NFKD").replace(/[\p{M}\u0640]/gu, "")
      .replace(/[أإآٱةىؤئ]/g, (c) => ARABIC_FORMS[c]);
    return (folded.match(/[0-9a-z\u0621-\u064a]+/g) || [])
      .map((word) => word.replace(/^[وبفلك]?ال(?=[\u0621-\u064a]{2})/, "")).join(" ");
  }

  let index = null;
  function load() {
    if (!index) {
      index = fetch(input.dataset.gazetteer, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : { places: [] }))
        .then((data) => {
          const byKey = new Map();
          (data.places || []).forEach((place) => place.keys.forEach((k) => {
            if (!byKey.has(k)) byKey.set(k, []);
            byKey.get(k).push(place);
          }));
          return { byKey, keys: [...byKey.keys()].sort() };
        });
      index.catch(() => { index = null; });
    }
    return index;
  }

  function describe(place) {
    return place.name + " (" + [place.label, place.parent].filter(Boolean).join(", ") + ")";
  }

  function chosenInput() {
    let hidden = form.querySelector("input[type=hidden][name=place_choice]");
    if (!hidden && !form.querySelector("input[type=radio][name=place_choice]")) {
      hidden = Object.assign(document.createElement("input"), { type: "hidden", name: "place_choice" });
      form.appendChild(hidden);
    }
    return hidden;
  }

  function choose(place) {
    const hidden = chosenInput();
    if (hidden) hidden.value = place.id;
    choices.replaceChildren();
    status.textContent = input.dataset.found.replace("{place}", describe(place));
    form.dataset.place = place.id;
    window.CrisisLastPlace = place;
    window.dispatchEvent(new CustomEvent("crisis-place", { detail: place }));
    form.dispatchEvent(new Event("change"));
  }

  function offer(places) {
    status.textContent = input.dataset.several;
    choices.replaceChildren(...places.slice(0, 8).map((place) => {
      const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary link-like" });
      button.textContent = describe(place);
      button.addEventListener("click", () => { input.value = place.name; choose(place); input.focus(); });
      return button;
    }));
  }

  function clear() {
    const hidden = form.querySelector("input[type=hidden][name=place_choice]");
    if (hidden) hidden.value = "";
    choices.replaceChildren();
    status.textContent = "";
    delete form.dataset.place;
    window.CrisisLastPlace = null;
  }

  function lookup() {
    const typed = input.value;
    const wanted = key(typed);
    clear();
    if (!wanted || COORDINATES.test(typed)) return Promise.resolve();
    return load().then(({ byKey, keys }) => {
      if (key(input.value) !== wanted) return;  // typed on meanwhile
      const exact = byKey.get(wanted) || [];
      if (exact.length) {
        const most = Math.max(...exact.map((p) => SPECIFICITY[p.kind] || 0));
        const best = exact.filter((p) => (SPECIFICITY[p.kind] || 0) === most);
        if (best.length === 1) { choose(best[0]); return; }
        offer(best);
        return;
      }
      if (wanted.length < 3) return;
      const starting = [];
      for (const k of keys) {
        if (k.startsWith(wanted)) byKey.get(k).forEach((p) => { if (!starting.includes(p)) starting.push(p); });
        if (starting.length >= 8) break;
      }
      if (starting.length) offer(starting);
      else status.textContent = input.dataset.unknown;
    }).catch(() => {});
  }

  let timer = null;
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(lookup, 250); });
  input.addEventListener("focus", () => { load().catch(() => {}); }, { once: true });
  window.CrisisPlaceFinder = { key, lookup };
}());
