// The phone's outbox and its history of sent reports, in IndexedDB: shared by the report form,
// the "Sent from this phone" page, the small script every page loads (offline-boot.js) and the
// service worker (sw.js), which sends what waits even with no page open (Background Sync).
//
// One record per report, keyed by the form's client_id (the server's idempotency key: sending
// the same record twice, say after a reply lost on the way, never makes a second report):
//   state "queued"    waiting to be sent (next_try: not before this time; tries back off)
//   state "sending"   claimed by one sender (a page or the service worker); a claim older than
//                     CLAIM_MS is a sender that died mid-way, and the record is sent again
//   state "delivered" the server took it: its number is kept; the contact, the name, the photos
//                     and, for a sensitive report, the place are dropped from the phone
//   state "refused"   the server said why (reason, field, candidates); corrected and sent again
//                     from the form, under the same client_id
// Plain script (no modules, no build step): `self.CrisisOutbox` in a page and in the worker.
(function (scope) {
  "use strict";
  const DB = "crisiswiki-outbox";
  const VERSION = 2;
  const STORE = "reports";
  const CLAIM_MS = 2 * 60 * 1000;
  const FIRST_WAIT_MS = 5000;
  const LONGEST_WAIT_MS = 60 * 60 * 1000;
  const SYNC_TAG = "crisiswiki-outbox";
  const PRIVATE_FIELDS = ["name", "contact"];
  const PLACE_FIELDS = ["lat", "lon", "place_name", "place_choice"];

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, VERSION);
      request.onupgradeneeded = (event) => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) {
          db.createObjectStore(STORE, { keyPath: "client_id" });
          return;
        }
        if (event.oldVersion === 1) {
          // The first outbox (the form's own, while it stayed open) kept FormData entries: read them as records.
          const store = request.transaction.objectStore(STORE);
          store.openCursor().onsuccess = (cursor) => {
            const at = cursor.target.result;
            if (!at) return;
            const old = at.value;
            if (!old.state && old.entries) {
              at.update({
                client_id: old.client_id, crisis: old.crisis, url: old.url, state: "queued", tries: 0,
                created_at: Date.now(), title: (old.entries.find(([n]) => n === "title") || ["", ""])[1],
                fields: old.entries.filter(([, v]) => !(v instanceof Blob)),
                photos: old.entries.filter(([, v]) => v instanceof Blob).map(([, blob, name]) => ({ blob, name })),
              });
            }
            at.continue();
          };
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  // One transaction; `action(store)` may return an IDBRequest, whose result is resolved.
  function transact(mode, action) {
    return open().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      let result;
      Promise.resolve(action(tx.objectStore(STORE), tx)).then((value) => { result = value; });
      tx.oncomplete = () => { db.close(); resolve(result instanceof IDBRequest ? result.result : result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
      tx.onabort = () => { db.close(); reject(tx.error); };
    }));
  }

  const all = () => transact("readonly", (store) => store.getAll()).then((items) => items || []);
  const get = (clientId) => transact("readonly", (store) => store.get(clientId));
  const remove = (clientId) => transact("readwrite", (store) => store.delete(clientId));

  function put(record) {
    record.updated_at = Date.now();
    return transact("readwrite", (store) => store.put(record)).then(() => announce(record));
  }

  // Read-modify-write in one transaction: `change(record)` returns the new record or null (no change).
  function update(clientId, change) {
    let changed = null;
    return transact("readwrite", (store) => {
      const request = store.get(clientId);
      request.onsuccess = () => {
        const next = request.result ? change(request.result) : null;
        if (next) { next.updated_at = Date.now(); store.put(next); changed = next; }
      };
    }).then(() => { if (changed) announce(changed); return changed; });
  }

  // Pages showing the outbox (the form, the Sent page) hear about every change, from any sender.
  let channel = null;
  function announce(record) {
    try {
      if (!channel && typeof BroadcastChannel !== "undefined") channel = new BroadcastChannel(DB);
      if (channel) channel.postMessage({ client_id: record.client_id, state: record.state });
    } catch (e) { /* no channel: pages read IndexedDB when they are shown */ }
  }
  function listen(callback) {
    if (typeof BroadcastChannel === "undefined") return;
    const heard = new BroadcastChannel(DB);
    heard.onmessage = (event) => callback(event.data);
  }

  function field(record, name) {
    const found = (record.fields || []).find(([key]) => key === name);
    return found ? found[1] : "";
  }

  // What is kept of a report once the server has it: enough to list it, nothing to identify the
  // volunteer or, for a sensitive report, the place.
  function forgetPrivate(record) {
    const sensitive = field(record, "sensitive") === "1";
    const drop = new Set([...PRIVATE_FIELDS, "csrf_token", ...(sensitive ? PLACE_FIELDS : [])]);
    record.fields = (record.fields || []).filter(([name]) => !drop.has(name));
    record.photo_count = (record.photos || []).length;
    record.photos = [];
    record.sensitive = sensitive;
    return record;
  }

  function wait(tries, retryAfter) {
    const backoff = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * Math.pow(2, Math.max(0, tries - 1)));
    const jitter = Math.random() * 0.2 * backoff;
    return Math.max(backoff + jitter, (retryAfter || 0) * 1000);
  }

  function csrfToken(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : {}))
      .then((data) => data.token || "");
  }

  function body(record, token) {
    const data = new FormData();
    (record.fields || []).forEach(([name, value]) => {
      if (name !== "csrf_token") data.append(name, value);
    });
    data.append("csrf_token", token);
    (record.photos || []).forEach((photo) => data.append("photos", photo.blob, photo.name || "photo.jpg"));
    return data;
  }

  // Claim a record for sending (atomically); null when it is not due or someone else sends it.
  function claim(clientId, force) {
    const now = Date.now();
    const mark = Math.random().toString(36).slice(2);
    return update(clientId, (record) => {
      const due = record.state === "queued" && (force || !record.next_try || record.next_try <= now);
      const abandoned = record.state === "sending" && now - (record.claimed_at || 0) > CLAIM_MS;
      if (!due && !abandoned) return null;
      record.state = "sending";
      record.claim = mark;
      record.claimed_at = now;
      return record;
    }).then((record) => (record && record.claim === mark ? record : null));
  }

  function sendOne(record, csrfUrl) {
    return csrfToken(csrfUrl).then((token) => fetch(record.url, {
      method: "POST",
      body: body(record, token),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })).then((response) => response.json().catch(() => ({})).then((data) => {
      if (response.ok && data.id) {
        return update(record.client_id, (current) => Object.assign(forgetPrivate(current), {
          state: "delivered", report_id: data.id, thanks: data.thanks, delivered_at: Date.now(), reason: "",
        }));
      }
      const error = data.error || {};
      const retry = response.status >= 500 || response.status === 429 || response.status === 408 || error.code === "csrf";
      if (retry) {
        const retryAfter = parseInt(response.headers.get("Retry-After") || "0", 10);
        return requeue(record, retryAfter);
      }
      return update(record.client_id, (current) => Object.assign(current, {
        state: "refused", status: response.status, reason: error.message || String(response.status),
        reason_field: error.field || "", candidates: error.candidates || [],
      }));
    }), () => requeue(record, 0));  // no connection, or it died on the way: try again later
  }

  function requeue(record, retryAfter) {
    return update(record.client_id, (current) => {
      if (current.state !== "sending") return null;
      current.tries = (current.tries || 0) + 1;
      current.state = "queued";
      current.next_try = Date.now() + wait(current.tries, retryAfter);
      return current;
    });
  }

  // Send everything that is due (or `only` that one, now). Resolves with the records as they end up.
  let running = null;
  function flush(options) {
    options = options || {};
    if (running && !options.only) return running;
    const csrfUrl = options.csrfUrl || "/csrf-token";
    const work = all().then((records) => records
      .filter((record) => !options.only || record.client_id === options.only)
      .reduce((chain, record) => chain.then((done) => claim(record.client_id, !!(options.only || options.force))
        .then((claimed) => (claimed ? sendOne(claimed, claimed.csrf_url || csrfUrl) : get(record.client_id)))
        .then((result) => { done.push(result); return done; })), Promise.resolve([])));
    const guarded = (scope.navigator && scope.navigator.locks && !options.only)
      ? scope.navigator.locks.request(DB, () => work) : work;
    if (!options.only) {
      running = guarded.finally(() => { running = null; });
      return running.then((records) => { later(); return records; });
    }
    return guarded.then((records) => { later(); return records; });
  }

  // In a page (a service worker is not kept alive for timers): try again when the back-off ends.
  let timer = null;
  function later() {
    if (typeof window === "undefined") return;
    waiting().then((records) => {
      const next = Math.min(...records.map((r) => (r.state === "sending" ? (r.claimed_at || 0) + CLAIM_MS : r.next_try || Date.now())));
      if (!records.length || !Number.isFinite(next)) return;
      clearTimeout(timer);
      timer = setTimeout(() => { if (navigator.onLine) flush(); }, Math.max(1000, next - Date.now()));
    }).catch(() => {});
  }

  // Ask the browser to send the outbox when the connection is back, with no page open.
  function registerSync() {
    if (!scope.navigator || !scope.navigator.serviceWorker) return Promise.resolve(false);
    return scope.navigator.serviceWorker.ready
      .then((registration) => (registration.sync ? registration.sync.register(SYNC_TAG).then(() => true) : false))
      .catch(() => false);
  }

  function waiting() {
    return all().then((records) => records.filter((r) => r.state === "queued" || r.state === "sending"));
  }

  // "Forget this phone": the whole database goes.
  function forgetEverything() {
    return new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(DB);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }

  scope.CrisisOutbox = {
    SYNC_TAG, all, get, put, update, remove, flush, field, registerSync, waiting, listen, forgetEverything,
  };
}(self));
