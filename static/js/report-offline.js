// The report form as an offline app (see wiki/offline): it registers the site's service worker
// and has it keep what this crisis's form needs; every report goes through the phone's outbox
// (outbox.js, in IndexedDB) and leaves at once when there is a connection, else when it is back
// (Background Sync, or the next visit of any page of the site), exactly once: the form's
// client_id is the server's idempotency key.
//
// - The draft (text fields) lives in localStorage, per crisis, and comes back after a reload; it
//   is cleared once the report is in the outbox.
// - Photos are resized on the phone (data-photo-max-side pixels on the long side, JPEG) before
//   they are kept or sent, to spare data and credit.
// - Refused by the server (a place it cannot find, a missing field ...): the reason is shown and
//   the report stays on the phone to be corrected and sent again, here or from "Sent from this
//   phone" (which links back with #resend=<client_id>).
// Without JavaScript none of this runs and the form posts normally.
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  const Outbox = window.CrisisOutbox;
  if (!form || !window.fetch || !window.FormData || !window.indexedDB || !Outbox) return;
  const status = document.getElementById("draft-status");
  const crisis = form.dataset.crisis;
  const action = form.dataset.action;
  const draftKey = "crisiswiki-draft-" + crisis;
  const text = (name) => form.dataset[name] || "";
  const say = (message) => { if (status) status.textContent = message; };
  const DRAFT_FIELDS = ["title", "description", "sector", "occurred_at", "place_name", "lat", "lon", "name", "contact"];
  const maxSide = parseInt(form.dataset.photoMaxSide || "0", 10);
  let keptPhotos = null; // the photos of a refused report being corrected, when none are chosen anew

  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^0-9a-z]/gi, "");
  if (!form.elements.client_id.value) form.elements.client_id.value = newId();
  try { localStorage.setItem("crisiswiki-offline", "1"); } catch (e) { /* private mode: no boot-time sending */ }

  // ---- the service worker: keep this crisis's form on the phone ---------------------------
  function keepOffline() {
    const boot = document.querySelector("script[data-sw]");
    if (!("serviceWorker" in navigator) || !boot) return;
    const ask = () => {
      if (!navigator.onLine) return;
      navigator.serviceWorker.ready.then((registration) => {
        if (registration.active) registration.active.postMessage({ type: "precache", crisis });
      });
    };
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type === "precached" && data.crisis === crisis) {
        form.dataset.offlineReady = data.ok ? "yes" : "no";
        form.dataset.offlineRelease = data.release || "";
      }
    });
    navigator.serviceWorker.addEventListener("controllerchange", ask); // a new release took over: fill its cache
    const current = navigator.serviceWorker.controller;
    if (current && current.scriptURL === new URL(boot.dataset.sw, window.location.href).href) ask();
    else navigator.serviceWorker.register(boot.dataset.sw, { scope: "/" }).then(ask).catch(() => {});
  }

  // ---- the draft -------------------------------------------------------------------------
  function saveDraft() {
    const draft = {};
    DRAFT_FIELDS.forEach((name) => { if (form.elements[name]) draft[name] = form.elements[name].value; });
    draft.sensitive = form.elements.sensitive && form.elements.sensitive.checked;
    draft.client_id = form.elements.client_id.value;
    try { localStorage.setItem(draftKey, JSON.stringify(draft)); } catch (e) { /* storage full or off */ }
  }
  function restoreDraft() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (e) { draft = null; }
    if (!draft || form.elements.title.value) return;
    DRAFT_FIELDS.forEach((name) => { if (form.elements[name] && draft[name]) form.elements[name].value = draft[name]; });
    if (form.elements.sensitive) form.elements.sensitive.checked = !!draft.sensitive;
    if (draft.client_id) form.elements.client_id.value = draft.client_id;  // the same report, not a new one
    say(text("draftRestored"));
  }
  function clearDraft() { try { localStorage.removeItem(draftKey); } catch (e) { /* ignore */ } }

  // ---- photos, resized on the phone ---------------------------------------------------------
  function resize(file) {
    const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
    if (!maxSide || !/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve({ blob: file, name: file.name });
    return createImageBitmap(file, { imageOrientation: "from-image" }).then((bitmap) => {
      const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.type === "image/jpeg") { bitmap.close(); return { blob: file, name: file.name }; }
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise((resolve) => canvas.toBlob((blob) => resolve({ blob: blob || file, name }), "image/jpeg", 0.82));
    }).catch(() => ({ blob: file, name: file.name }));  // not an image the browser can draw: sent as it is
  }

  function recordOf() {
    const data = new FormData(form);
    const fields = [];
    const files = [];
    data.forEach((value, name) => {
      if (value instanceof File) { if (value.size) files.push(value); } else if (name !== "csrf_token") fields.push([name, value]);
    });
    return Promise.all(files.map(resize)).then((photos) => ({
      client_id: form.elements.client_id.value,
      crisis: crisis,
      url: action,
      csrf_url: form.dataset.csrfUrl,
      title: form.elements.title.value,
      state: "queued",
      tries: 0,
      created_at: Date.now(),
      fields: fields,
      photos: photos.length ? photos : (keptPhotos || []),
    }));
  }

  // ---- after sending -----------------------------------------------------------------------
  const FIELD_INPUTS = { geometry: "lat", place: "place_name", "source.contact": "contact", "source.name": "name" };

  function showRefusal(record) {
    say(text("refused").replace("{reason}", record.reason || ""));
    const input = form.elements[FIELD_INPUTS[record.reason_field] || record.reason_field];
    if (input && input.focus) input.focus();
    const suggestions = document.getElementById("place-suggestions");
    if (suggestions && record.candidates && record.candidates.length) {
      suggestions.replaceChildren(...record.candidates.map((candidate, i) => {
        const label = Object.assign(document.createElement("label"), { className: "check" });
        const radio = Object.assign(document.createElement("input"), { type: "radio", name: "place_choice", value: candidate.id, required: i === 0 });
        label.append(radio, " " + candidate.name + (candidate.parent ? " (" + candidate.parent + ")" : ""));
        return label;
      }));
      const hidden = form.querySelector("input[type=hidden][name=place_choice]");
      if (hidden) hidden.remove();
    }
  }

  function kept() {
    say(text("queued"));
    form.reset();
    keptPhotos = null;
    form.elements.client_id.value = newId();
    const hidden = form.querySelector("input[type=hidden][name=place_choice]");
    if (hidden) hidden.value = "";
    Outbox.registerSync();
  }

  let busy = false;
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  form.addEventListener("submit", (event) => {
    if (!form.checkValidity()) return;  // let the browser show what is missing
    event.preventDefault();
    if (busy) return;
    busy = true;
    recordOf().then((record) => Outbox.put(record).then(() => {
      clearDraft();
      form.dataset.lastClientId = record.client_id;
      if (!navigator.onLine) { kept(); return null; }
      say(text("sending"));
      return Outbox.flush({ only: record.client_id, csrfUrl: form.dataset.csrfUrl }).then(([result]) => {
        if (result && result.state === "delivered") {
          window.location.assign(result.thanks);
        } else if (result && result.state === "refused") {
          showRefusal(result);
        } else {
          kept();
        }
      });
    })).catch(() => say(text("stillOffline"))).finally(() => { busy = false; });
  });

  // Corrected and sent again: the "Sent from this phone" page links here with #resend=<client_id>.
  function resend() {
    const match = window.location.hash.match(/^#resend=([0-9a-zA-Z]+)$/);
    if (!match) return Promise.resolve(false);
    return Outbox.get(match[1]).then((record) => {
      if (!record || record.state !== "refused" || record.crisis !== crisis) return false;
      form.reset();
      (record.fields || []).forEach(([name, value]) => {
        const input = form.elements[name];
        if (!input || input instanceof RadioNodeList) return;
        if (input.type === "checkbox") input.checked = value === input.value;
        else input.value = value;
      });
      form.elements.client_id.value = record.client_id;
      keptPhotos = record.photos || [];
      showRefusal(record);
      return true;
    });
  }

  window.addEventListener("online", () => Outbox.flush());
  keepOffline();
  resend().then((resending) => { if (!resending) restoreDraft(); });
  if (navigator.onLine) Outbox.flush();
})();
