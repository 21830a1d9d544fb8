// Mixlab's service worker (written into the build by scripts/trunk-post-build.mjs): after the
// first visit the app works offline. The build's files are cached when it installs; pages
// are fetched network-first (a new version shows when online) and fall back to the cached
// app; everything else from this site comes from the cache first, and files fetched later
// (other models) are kept for next time. Requests to other sites are not touched (there are
// none: see the Content-Security-Policy).
const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const CACHE = `mixlab-${VERSION}`;
const scoped = (path) => new URL(path, self.registration.scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE.map((p) => new Request(scoped(p), { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('mixlab-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith((async () => {
      try {
        return await fetch(request);
      } catch {
        return (await caches.match(scoped('index.html'))) ?? Response.error();
      }
    })());
    return;
  }
  event.respondWith((async () => {
    const cached = await caches.match(request);
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((c) => c.put(request, copy)));
    }
    return response;
  })());
});
