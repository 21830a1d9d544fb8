// Trunk post-build hook:
// 1. moves the wasm loader Trunk writes inline into index.html into its own file, so the page
//    runs under a Content-Security-Policy without 'unsafe-inline' scripts (index.html's
//    policy); the file is named by a hash of its content, like Trunk's others, and registers
//    the service worker once the app has started;
// 2. writes the service worker (scripts/sw-template.js) with the list of the build's files and
//    a version that changes with any of them, so the app works offline after the first visit.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a Trunk post_build hook');
const page = join(dir, 'index.html');
const html = readFileSync(page, 'utf8');
const inline = /<script type="module"(?: nonce="[^"]*")?>([\s\S]*?)<\/script>/g;
const found = [...html.matchAll(inline)];
if (found.length !== 1) throw new Error(`expected one inline module script in index.html, found ${found.length}`);
const code = `${found[0][1].trim()}
// (Here the app has started: the module awaited its wasm above.)
navigator.serviceWorker?.register('./sw.js').catch((e) => console.warn('Mixlab will not work offline:', e));
`;
const name = `boot-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`;
writeFileSync(join(dir, name), code);
writeFileSync(page, html.replace(found[0][0], `<script type="module" src="./${name}"></script>`));
if (/<script(?![^>]*\bsrc=)[^>]*>/.test(readFileSync(page, 'utf8'))) throw new Error('an inline script is left in index.html');

// The service worker: every file of the build (paths relative to index.html).
const files = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
const precache = files(dir).map((f) => relative(dir, f).split('\\').join('/')).filter((f) => f !== 'sw.js').sort();
const version = createHash('sha256');
for (const f of precache) version.update(f).update(readFileSync(join(dir, f)));
const sw = readFileSync(join(import.meta.dirname, 'sw-template.js'), 'utf8')
  .replace('__VERSION__', version.digest('hex').slice(0, 16))
  .replace('__PRECACHE__', JSON.stringify(['./', ...precache]));
writeFileSync(join(dir, 'sw.js'), sw);
