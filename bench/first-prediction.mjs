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
const files = readdirSync(dist).filter((f) => /\.(wasm|js)$/.test(f));
let rawTotal = 0, gzTotal = 0;
console.log(`served files in ${dist}:`);
for (const f of files) {
  const bytes = readFileSync(join(dist, f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  rawTotal += bytes.length; gzTotal += gz;
  console.log(`  ${f.padEnd(44)} ${mb(statSync(join(dist, f)).size).padStart(7)} MB raw ${mb(gz).padStart(6)} MB gzip`);
}
console.log(`  ${'total (wasm + JS + plotly.js)'.padEnd(44)} ${mb(rawTotal).padStart(7)} MB raw ${mb(gzTotal).padStart(6)} MB gzip`);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const site = await serve();
for (const [label, webgpu] of [['WebGPU (SwiftShader)', true], ['CPU (no WebGPU adapter)', false]]) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const browser = await launch({ webgpu });
    const { page } = await open(browser.context, site.url);
    if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
    await page.waitForSelector('#first-prediction', { state: 'attached' });
    times.push(Number(await page.getAttribute('#first-prediction', 'data-ms')));
    await browser.close();
  }
  console.log(`navigation → first prediction, ${label}: median ${median(times).toFixed(0)} ms over ${runs} (${times.map((t) => t.toFixed(0)).join(', ')})`);
}
await site.close();
