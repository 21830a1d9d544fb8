// Benchmark: served size (raw and gzip) and time from navigation to the first prediction in
// headless Chromium, median of N fresh browser profiles, on WebGPU (SwiftShader) and the CPU.
// Usage: node bench/first-prediction.mjs [dist-dir] [runs]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = resolve(process.argv[2] ?? 'dist');
const runs = Number(process.argv[3] ?? 5);
process.env.MIXLAB_DIST = dist;
// Imported once MIXLAB_DIST is set: the harness reads it when it loads.
const { launch, open, serve, settled } = await import('../tests/browser/harness.mjs');

const mb = (n) => (n / 1e6).toFixed(2);
// The trainer (New model page) and the full plotly build (explorer) load on demand: listed apart.
const onDemand = (f) => /^(mixlab-train-worker|plotly-strict)/.test(f);
const files = readdirSync(dist).filter((f) => /\.(wasm|js)$/.test(f) && !onDemand(f));
let rawTotal = 0, gzTotal = 0;
console.log(`served files in ${dist}:`);
for (const f of files) {
  const bytes = readFileSync(join(dist, f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  rawTotal += bytes.length; gzTotal += gz;
  console.log(`  ${f.padEnd(44)} ${mb(statSync(join(dist, f)).size).padStart(7)} MB raw ${mb(gz).padStart(6)} MB gzip`);
}
console.log(`  ${'total (wasm + JS + plotly.js)'.padEnd(44)} ${mb(rawTotal).padStart(7)} MB raw ${mb(gzTotal).padStart(6)} MB gzip`);
for (const f of readdirSync(dist).filter((f) => /\.(wasm|js)$/.test(f) && onDemand(f))) {
  const bytes = readFileSync(join(dist, f));
  console.log(`  on demand: ${f.padEnd(33)} ${mb(bytes.length).padStart(7)} MB raw ${mb(gzipSync(bytes, { level: 9 }).length).padStart(6)} MB gzip`);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const site = await serve();
// Auto: the default link (CPU first, WebGPU brought up behind it); then each backend forced.
const modes = [
  ['auto (default link), WebGPU browser', true, ''],
  ['WebGPU forced (?backend=webgpu)', true, '?backend=webgpu'],
  ['CPU (no WebGPU adapter)', false, ''],
];
for (const [label, webgpu, query] of modes) {
  const times = [], probes = [];
  for (let i = 0; i < runs; i++) {
    const browser = await launch({ webgpu });
    const { page } = await open(browser.context, `${site.url}${query}`);
    if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
    await page.waitForSelector('#first-prediction', { state: 'attached' });
    times.push(Number(await page.getAttribute('#first-prediction', 'data-ms')));
    if (webgpu && !query) {
      await page.waitForSelector('#backend-note[data-webgpu-ms]', { timeout: 120_000 });
      const at = async (k) => Number(await page.getAttribute('#backend-note', `data-${k}-ms`));
      probes.push({ ready: await at('ready'), cpu: await at('cpu'), gpu: await at('webgpu'), on: await page.getAttribute('#backend', 'data-backend') });
    }
    await browser.close();
  }
  console.log(`navigation → first prediction, ${label}: median ${median(times).toFixed(0)} ms over ${runs} (${times.map((t) => t.toFixed(0)).join(', ')})`);
  if (probes.length) {
    const m = (k) => median(probes.map((p) => p[k]));
    console.log(`  background probe: WebGPU ready after ${m('ready').toFixed(0)} ms; one prediction ${m('cpu').toFixed(2)} ms on the CPU vs ${m('gpu').toFixed(2)} ms on WebGPU; runs on ${probes.map((p) => p.on).join(', ')}`);
  }
}
await site.close();
