// Sotto's service worker. It keeps the app shell (the files listed below)
// so the app installs, and shows an offline page when there is no network.
// It never touches /ws, never caches anything not listed here, and never
// stores a request under its own URL: a navigation's URL can carry the room
// secret in its #fragment, so pages are only ever cached under fixed keys.
//
// Network first, cache as the fallback: the server is where new code comes
// from, and a stale copy of a security tool is worse than a slower start.
// Navigations that fail get offline.html. Bump VERSION when the lists change.

const VERSION = 'sotto-shell-v10';
// What the offline page needs, fetched when the worker installs.
const OFFLINE = ['/offline.html', '/css/app.css', '/icons/icon.svg', '/js/theme-boot.js', '/js/offline.js',
  '/js/secret.js', '/js/e2ee/link.js', '/js/e2ee/errors.js', '/js/e2ee/encoding.js', '/js/e2ee/keys.js'];
// SHELL-BEGIN (scripts/shell-size.sh reads this list)
// The app shell: cached as it is fetched, served from the cache only when
// the network fails.
const SHELL = [
  '/',
  '/offline.html',
  '/js/offline.js',
  '/manifest.webmanifest',
  '/css/app.css',
  '/icons/icon.svg',
  '/icons/icon-192.png',
  '/js/theme-boot.js',
  '/js/app.js',
  '/js/store.js',
  '/js/secret.js',
  '/js/prefs.js',
  '/js/signaling.js',
  '/js/session.js',
  '/js/talkturn.js',
  '/js/connstate.js',
  '/js/talkinput.js',
  '/js/talkkey.js',
  '/js/mediasession.js',
  '/js/bluetoothptt.js',
  '/js/bluetoothpttweb.js',
  '/js/reconnect.js',
  '/js/media.js',
  '/js/mic.js',
  '/js/level.js',
  '/js/chirps.js',
  '/js/sayagain.js',
  '/js/sayagaintap.js',
  '/js/sayagain-worklet.js',
  '/js/device.js',
  '/js/pocket.js',
  '/js/qr.js',
  '/js/codejoin.js',
  '/js/codeoutcome.js',
  '/js/blobretry.js',
  '/js/memberkeys.js',
  '/js/keyrotation.js',
  '/js/ui/dom.js',
  '/js/ui/home.js',
  '/js/ui/lobby.js',
  '/js/ui/room.js',
  '/js/ui/share.js',
  '/js/ui/talk.js',
  '/js/ui/talkkey.js',
  '/js/ui/bluetoothptt.js',
  '/js/ui/theme.js',
  '/js/e2ee/agree.js',
  '/js/e2ee/attach.js',
  '/js/e2ee/blob.js',
  '/js/e2ee/encoding.js',
  '/js/e2ee/epoch.js',
  '/js/e2ee/epochkeys.js',
  '/js/e2ee/errors.js',
  '/js/e2ee/header.js',
  '/js/e2ee/keyblob.js',
  '/js/e2ee/keyring.js',
  '/js/e2ee/keys.js',
  '/js/e2ee/link.js',
  '/js/e2ee/replay.js',
  '/js/e2ee/sframe.js',
  '/js/e2ee/sid.js',
  '/js/e2ee/transform.js',
  '/js/e2ee/watchdog.js',
  '/js/e2ee/worker.js',
  '/vendor/qrcode-generator/qrcode.mjs',
];
// SHELL-END
const SHELL_PATHS = new Set(SHELL);
// A server that hangs (a captive portal, one bar of signal) should not keep
// the app from opening: after this long, the cached copy answers.
const NETWORK_WAIT_MS = 4000;

self.addEventListener('install', (ev) => {
  ev.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    await cache.addAll(OFFLINE);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== VERSION) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate') {
    if (url.pathname === '/' || url.pathname === '/index.html') ev.respondWith(page(req));
    return;
  }
  // Only the shell; everything else (/ws, /healthz, anything new) goes to the network untouched.
  if (SHELL_PATHS.has(url.pathname)) ev.respondWith(networkFirst(req, url.pathname));
});

// The app page itself, or the offline page when the network is gone.
async function page(req) {
  try {
    return await withTimeout(fetch(req), NETWORK_WAIT_MS);
  } catch {
    return (await caches.match('/offline.html')) ?? Response.error();
  }
}

async function networkFirst(req, key) {
  const cache = await caches.open(VERSION);
  try {
    const res = await withTimeout(fetch(req), NETWORK_WAIT_MS);
    if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
    return res;
  } catch {
    return (await cache.match(key)) ?? Response.error();
  }
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}
