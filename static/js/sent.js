// "Sent from this phone" (/sent): the outbox and its history, read from IndexedDB (outbox.js),
// also without a connection; and "Forget this phone", which deletes everything the site keeps
// on the phone: drafts, the outbox, the history, the offline copies and the service worker.
(function () {
  "use strict";
  const box = document.getElementById("sent");
  const Outbox = window.CrisisOutbox;
  if (!box || !Outbox) return;
  const list = document.getElementById("sent-list");
  const empty = document.getElementById("sent-empty");
  const sendNow = document.getElementById("send-now");
  const status = document.getElementById("sent-status");
  const text = (name) => box.dataset[name] || "";

  function when(time) {
    try { return new Date(time).toLocaleString(document.documentElement.lang || undefined); } catch (e) { return ""; }
  }

  function item(record) {
    const li = document.createElement("li");
    li.className = "sent-item state-" + record.state;
    li.dataset.clientId = record.client_id;
    li.dataset.state = record.state;
    const title = Object.assign(document.createElement("strong"), { textContent: record.title || Outbox.field(record, "title") });
    const meta = Object.assign(document.createElement("span"), { className: "meta" });
    meta.textContent = " · " + record.crisis + " · " + when(record.created_at);
    const state = Object.assign(document.createElement("p"), { className: "sent-state" });
    if (record.state === "delivered") {
      const [before, after] = text("delivered").split("{id}");
      const number = Object.assign(document.createElement("a"), { href: "/reports/" + record.report_id, textContent: String(record.report_id) });
      number.className = "report-number";
      state.append(before || "", number, after || "");
    } else if (record.state === "refused") {
      state.textContent = text("refused").replace("{reason}", record.reason || "");
    } else {
      state.textContent = text(record.state === "sending" ? "sending" : "queued");
    }
    li.append(title, meta, state);
    const photos = record.state === "delivered" ? record.photo_count : (record.photos || []).length;
    if (photos) li.append(Object.assign(document.createElement("p"), { className: "meta", textContent: text("photos").replace("{n}", photos) }));
    if (record.state === "refused") {
      const correct = Object.assign(document.createElement("a"), {
        className: "button", href: "/c/" + encodeURIComponent(record.crisis) + "/report#resend=" + record.client_id,
        textContent: text("correct"),
      });
      const drop = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: text("delete") });
      drop.addEventListener("click", () => Outbox.remove(record.client_id).then(show));
      li.append(correct, " ", drop);
    }
    return li;
  }

  function show() {
    return Outbox.all().then((records) => {
      records.sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
      list.replaceChildren(...records.map(item));
      empty.hidden = records.length > 0;
      sendNow.hidden = !records.some((r) => r.state === "queued" || r.state === "sending");
      box.dataset.ready = "yes";
    });
  }

  sendNow.addEventListener("click", () => {
    sendNow.disabled = true;
    Outbox.flush({ force: true }).then(show).finally(() => { sendNow.disabled = false; });
  });
  Outbox.listen(() => show());

  // ---- Forget this phone --------------------------------------------------------------------
  const forget = document.getElementById("forget");
  const confirm = document.getElementById("forget-confirm");
  forget.addEventListener("click", () => { confirm.hidden = false; confirm.focus(); });
  confirm.addEventListener("click", () => {
    confirm.disabled = true;
    const storage = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        if (key && key.startsWith("crisiswiki-")) storage.push(key);
      }
      storage.forEach((key) => localStorage.removeItem(key));
      sessionStorage.clear();
    } catch (e) { /* storage off */ }
    const cachesGone = window.caches
      ? caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith("crisiswiki-")).map((n) => caches.delete(n))))
      : Promise.resolve();
    const workerGone = navigator.serviceWorker
      ? navigator.serviceWorker.getRegistrations().then((all) => Promise.all(all.map((r) => r.unregister())))
      : Promise.resolve();
    Promise.all([Outbox.forgetEverything(), cachesGone, workerGone]).then(() => {
      list.replaceChildren();
      empty.hidden = false;
      sendNow.hidden = true;
      confirm.hidden = true;
      confirm.disabled = false;
      status.textContent = text("forgotten");
      box.dataset.forgotten = "yes";
    });
  });

  show();
}());
