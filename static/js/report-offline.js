// Field conditions for the report form: a draft kept on the phone as it is typed, and
// submissions queued on the phone while the connection is down, sent when it is back.
//
// - The draft (text fields only) lives in localStorage, per crisis, and comes back if the page
//   is reloaded or the browser closed; it is cleared once the report is accepted.
// - Sending goes through fetch. If the network fails, the whole form (photos included) is put
//   in IndexedDB and sent again on the `online` event or the next visit. Every submission
//   carries the form's client_id, which the server treats as an idempotency key: a resend of
//   something that did arrive never makes a second report.
// Without JavaScript none of this runs and the form posts normally.
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  if (!form || !window.fetch || !window.FormData) return;
  const status = document.getElementById("draft-status");
  const crisis = form.dataset.crisis;
  const draftKey = "crisiswiki-draft-" + crisis;
  const text = (name) => form.dataset[name] || "";
  const say = (message) => { if (status) status.textContent = message; };
  const DRAFT_FIELDS = ["title", "description", "sector", "occurred_at", "place_name", "lat", "lon", "name", "contact"];

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

  // ---- the outbox (IndexedDB) --------------------------------------------------------------
  function openOutbox() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open("crisiswiki-outbox", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("reports", { keyPath: "client_id" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  function withStore(mode, action) {
    return openOutbox().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction("reports", mode);
      const result = action(tx.objectStore("reports"));
      tx.oncomplete = () => resolve(result && result.result);
      tx.onerror = () => reject(tx.error);
    }));
  }
  function queue(entries) {
    const clientId = entries.find(([name]) => name === "client_id")[1];
    return withStore("readwrite", (store) => store.put({ client_id: clientId, crisis: crisis, url: form.action, entries: entries }));
  }
  const queued = () => withStore("readonly", (store) => store.getAll());
  const forget = (clientId) => withStore("readwrite", (store) => store.delete(clientId));

  function freshCsrfToken() {
    // The token in a form kept for hours may belong to a session that ended: fetch a new one.
    return fetch(form.action, { credentials: "same-origin", cache: "no-store" })
      .then((response) => response.text())
      .then((html) => {
        const match = html.match(/name="csrf-token" content="([^"]+)"/);
        return match ? match[1] : "";
      });
  }

  function send(entries, token) {
    const data = new FormData();
    entries.forEach(([name, value, filename]) => {
      if (name === "csrf_token" && token) value = token;
      if (value instanceof Blob) data.append(name, value, filename || "photo.jpg");
      else data.append(name, value);
    });
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin", redirect: "follow" });
  }

  let flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) return Promise.resolve();
    flushing = true;
    return queued()
      .then((items) => {
        items = (items || []).filter((item) => item.crisis === crisis);
        if (!items.length) return null;
        say(text("sending"));
        return freshCsrfToken().then((token) => items.reduce((chain, item) => chain.then(() =>
          send(item.entries, token).then((response) => {
            // Accepted (a redirect to the thank-you page): done. Refused for good (a 4xx other
            // than "too many"): dropped, and said. Server errors, 429 and network failures stay.
            if (response.ok) return forget(item.client_id);
            if (response.status >= 400 && response.status < 500 && response.status !== 429) {
              say(text("refused"));
              return forget(item.client_id);
            }
            return null;
          })), Promise.resolve()).then(() => say(text("sent"))));
      })
      .catch(() => say(text("stillOffline")))
      .finally(() => { flushing = false; });
  }

  function entriesOf(data) {
    const entries = [];
    data.forEach((value, name) => {
      if (value instanceof File) {
        if (value.size) entries.push([name, value, value.name]);
      } else {
        entries.push([name, value]);
      }
    });
    return entries;
  }

  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  form.addEventListener("submit", (event) => {
    if (!form.checkValidity()) return;  // let the browser show what is missing
    event.preventDefault();
    const entries = entriesOf(new FormData(form));
    const keep = () => queue(entries).then(() => {
      clearDraft();
      say(text("queued"));
      form.reset();
      form.elements.client_id.value = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/-/g, "");
    });
    if (!navigator.onLine) { keep(); return; }
    send(entries, null).then((response) => {
      if (response.redirected && /\/thanks$/.test(new URL(response.url).pathname)) {
        clearDraft();
        window.location.assign(response.url);
      } else {
        // The server refused something: post the form the plain way so its page says what.
        // Nothing was stored, and the client_id would make a repeat harmless anyway.
        form.submit();
      }
    }).catch(keep);  // the connection dropped: keep it on the phone
  });
  window.addEventListener("online", flush);
  restoreDraft();
  flush();
})();
