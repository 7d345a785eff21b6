// The offline report app's service worker, served at /sw.js (scope: the whole site) by
// wiki/offline/views.py and registered by offline-boot.js as /sw.js?release=<asset hash>.
//
// What it keeps: for each crisis whose report form this phone opened online, what that form
// needs (the list comes from /c/<crisis>/offline.json: the form's shell, the "Sent from this
// phone" page, scripts, styles, Leaflet, the offline basemap, the crisis's admin boundaries and
// its gazetteer), in ONE cache named after the release's asset hash. A new release is a new
// worker (its URL carries the hash): it fills a new cache for the same crises while the old
// worker still serves the old one, and on activation deletes every other cache, so a page is
// never put together from two releases.
//
// What it never keeps: anything behind a login or about a person. The pages it keeps are shells
// the server renders as the public sees them (no token, no name); nothing is kept unless the
// crisis's list names it, and no response marked private or no-store is kept at all. Other pages
// are not touched: they come from the network, or not at all.
//
// How it answers: the form and the Sent page from the cache at once when the network is slow or
// gone, revalidated (If-None-Match: a 304 costs a few hundred bytes) when it answers in time;
// listed static files and data from the cache. Background Sync ("crisiswiki-outbox") sends the
// outbox (outbox.js) with no page open.
/* global CrisisOutbox */
"use strict";

const RELEASE = new URL(self.location.href).searchParams.get("release") || "unversioned";
const PREFIX = "crisiswiki-";
const CACHE = PREFIX + RELEASE;
const NETWORK_WAIT_MS = 2000; // a page waits this long for the network before the kept copy is shown
const LIST = /^\/c\/([^/]+)\/offline\.json$/;

importScripts("/static/js/outbox.js?release=" + encodeURIComponent(RELEASE));

function cacheable(response) {
  if (!response || !response.ok || response.type !== "basic") return false;
  return !/(^|[\s,])(private|no-store)([\s,=]|$)/i.test(response.headers.get("Cache-Control") || "");
}

// The crises this phone keeps, from the lists in any of this site's caches (old releases too).
async function keptCrises() {
  const found = new Set();
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX)) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const match = new URL(request.url).pathname.match(LIST);
      if (match) found.add(decodeURIComponent(match[1]));
    }
  }
  return [...found];
}

// Fetch `url` again unless the kept copy is current: If-None-Match with its ETag (a 304 keeps it).
async function revalidate(cache, url, kept) {
  const etag = kept && kept.headers.get("ETag");
  const response = await fetch(url, {
    credentials: "same-origin",
    cache: "no-store",
    headers: etag ? { "If-None-Match": etag } : {},
  });
  if (response.status === 304 && kept) return { response: kept, changed: false };
  if (!cacheable(response)) return { response, changed: false, refused: true };
  const release = response.headers.get("X-Release");
  if (release && release !== RELEASE) return { response, changed: false };  // the next release's worker keeps it
  await cache.put(url, response.clone());
  return { response, changed: true };
}

// Keep what the crisis's form needs, in this release's cache. Resolves with the list.
async function precache(crisis) {
  const cache = await caches.open(CACHE);
  const listUrl = `/c/${encodeURIComponent(crisis)}/offline.json`;
  const keptList = await cache.match(listUrl);
  const etag = keptList && keptList.headers.get("ETag");
  const answer = await fetch(listUrl, {
    credentials: "same-origin",
    cache: "no-store",
    headers: etag ? { "If-None-Match": etag } : {},
  });
  let list;
  if (answer.status === 304 && keptList) list = await keptList.clone().json();
  else if (answer.ok) list = await answer.clone().json();
  else throw new Error(`${listUrl}: ${answer.status}`);
  if (list.release !== RELEASE) {
    // The site runs another release than this worker: its files belong in that release's cache,
    // which the new worker fills. Never mix.
    self.registration.update().catch(() => {});
    return list;
  }
  const keys = new Set((await cache.keys()).map((request) => new URL(request.url).pathname + new URL(request.url).search));
  await Promise.all(list.urls.filter((url) => !keys.has(url)).map(async (url) => {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!cacheable(response)) throw new Error(`${url}: not kept (${response.status})`);
    await cache.put(url, response);
  }));
  for (const page of list.pages) await revalidate(cache, page, await cache.match(page, { ignoreVary: true }));
  // The crisis's data of an older version (its addresses carry the version) goes.
  const listed = new Set(list.urls);
  const data = new RegExp(`^/api/v1/crises/${crisis.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/`);
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    if (data.test(url.pathname) && !listed.has(url.pathname + url.search)) await cache.delete(request);
  }
  if (answer.status !== 304) await cache.put(listUrl, answer); // last: a list in the cache means a whole copy
  return list;
}

// One filling at a time: a page that asks twice (it registered, then the worker took over) gets
// the second answer from what the first one kept (304s).
let filling = Promise.resolve();
function precacheInTurn(crisis) {
  const turn = filling.catch(() => null).then(() => precache(crisis));
  filling = turn;
  return turn;
}

self.addEventListener("install", (event) => {
  event.waitUntil(keptCrises()
    .then((crises) => Promise.all(crises.map((crisis) => precache(crisis))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// The shell kept for a page address, if it is one the offline app keeps.
function shellFor(url) {
  if (url.search) return null;
  if (url.pathname === "/sent") return "/sent";
  const form = url.pathname.match(/^\/c\/[^/]+\/report$/);
  return form ? url.pathname + "?shell=1" : null;
}

async function page(request, shellUrl) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(shellUrl, { ignoreVary: true });
  if (!kept) return fetch(request);
  const fresh = revalidate(cache, shellUrl, kept).then((result) => (result.refused ? kept : result.response));
  const late = new Promise((resolve) => setTimeout(() => resolve(kept), NETWORK_WAIT_MS));
  return Promise.race([fresh.catch(() => kept), late]);
}

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreVary: true });
  return kept || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    const shell = shellFor(url);
    if (shell) event.respondWith(page(request, shell));
    return;
  }
  if (url.pathname.startsWith("/static/") || /^\/api\/v1\/crises\/[^/]+\/(boundaries|gazetteer)$/.test(url.pathname)) {
    event.respondWith(fromCache(request));
  }
});

// Background Sync: the connection is back (or the browser tries again); send what waits, now.
self.addEventListener("sync", (event) => {
  if (event.tag !== CrisisOutbox.SYNC_TAG) return;
  event.waitUntil(CrisisOutbox.flush({ force: true }).then((records) => {
    if (records.some((record) => record && (record.state === "queued" || record.state === "sending"))) {
      throw new Error("reports still wait"); // the browser tries the sync again later
    }
  }));
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const reply = (message) => { if (event.source) event.source.postMessage(message); };
  if (data.type === "precache" && data.crisis) {
    event.waitUntil(precacheInTurn(data.crisis)
      .then((list) => reply({ type: "precached", crisis: data.crisis, release: RELEASE, ok: list.release === RELEASE }))
      .catch((error) => reply({ type: "precached", crisis: data.crisis, release: RELEASE, ok: false, error: String(error) })));
  } else if (data.type === "flush") {
    event.waitUntil(CrisisOutbox.flush({ force: !!data.force }));
  }
});
