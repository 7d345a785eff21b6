// On every page of the site, small: once this phone has used the offline report app (the report
// form sets "crisiswiki-offline" in localStorage), keep its service worker registered for this
// release and send whatever the outbox still holds: a report kept on the phone leaves with the
// next visit of any page, where the browser has no Background Sync as well as where it has.
// Nothing happens on a phone that never opened the form; every page works without this script.
(function () {
  "use strict";
  const script = document.currentScript;
  let used = false;
  try { used = localStorage.getItem("crisiswiki-offline") === "1"; } catch (e) { used = false; }
  if (!used || !script) return;
  if ("serviceWorker" in navigator && script.dataset.sw) {
    const current = navigator.serviceWorker.controller;
    // Registered already for this release: the browser checks it for updates on its own.
    if (!current || current.scriptURL !== new URL(script.dataset.sw, window.location.href).href) {
      navigator.serviceWorker.register(script.dataset.sw, { scope: "/" }).catch(() => {});
    }
  }
  if (!window.indexedDB || !navigator.onLine) return;

  function send() {
    // This page came from the site: the connection works, so what waits goes now, whatever its back-off.
    if (window.CrisisOutbox) return window.CrisisOutbox.flush({ force: true });
    const loader = document.createElement("script");
    loader.src = script.dataset.outbox;
    loader.onload = () => window.CrisisOutbox && window.CrisisOutbox.flush({ force: true });
    document.head.appendChild(loader);
    return null;
  }
  // Only when something waits: most visits load nothing more.
  const request = indexedDB.open("crisiswiki-outbox");
  request.onsuccess = () => {
    const db = request.result;
    if (!db.objectStoreNames.contains("reports")) { db.close(); return; }
    const all = db.transaction("reports").objectStore("reports").getAll();
    all.onsuccess = () => {
      db.close();
      if ((all.result || []).some((r) => r.state === "queued" || r.state === "sending")) send();
    };
  };
  request.onupgradeneeded = () => { request.transaction.abort(); };  // no outbox: do not create one
  window.addEventListener("online", () => send());
}());
