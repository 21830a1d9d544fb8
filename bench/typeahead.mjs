// Benchmark: the editor's type-ahead over a large material library. Keystroke (input event)
// → suggestions painted, in headless Chromium on the CPU path, for a bundle with thousands of
// materials (make one with `mixlab synthetic` + `mixlab train`, see docs/benchmarks.md).
// Usage: node bench/typeahead.mjs <bundle-dir> [dist-dir]
import { resolve } from 'node:path';

const bundle = resolve(process.argv[2] ?? '/tmp/syn-bundle');
process.env.MIXLAB_DIST = resolve(process.argv[3] ?? 'dist');
// Imported once MIXLAB_DIST is set: the harness reads it when it loads.
const { analysed, launch, open, serve, settled } = await import('../tests/browser/harness.mjs');
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const site = await serve({ mounts: [['/big/', bundle]] });
const browser = await launch({ webgpu: false });
const { page } = await open(browser.context, `${site.url}?model=big/`);
if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
await analysed(page); // plotly.js loads (and parses for ~1 s) with the first plot: not part of typing
const materials = await page.evaluate(async () => (await (await fetch('big/manifest.json')).json()).materials.length);
await page.evaluate(() => {
  window.__inputs = []; window.__paints = [];
  const box = document.querySelector('#add-material');
  box.addEventListener('input', (e) => window.__inputs.push(e.timeStamp));
  new MutationObserver(() => requestAnimationFrame(() => window.__paints.push(performance.now())))
    .observe(document.querySelector('#add-suggestions'), { childList: true, subtree: true, characterData: true, attributes: true });
});
const queries = ['m01', 'm2', 'g1', 'm53', 'g29 m1', 'm0', 'm4', 'g7', 'm31', 'm5'];
for (const q of queries) {
  await page.fill('#add-material', '');
  await page.click('#add-material');
  for (const ch of q) { await page.keyboard.type(ch); await page.waitForTimeout(40); }
}
await page.waitForTimeout(200);
const { inputs, paints } = await page.evaluate(() => ({ inputs: window.__inputs, paints: window.__paints }));
const lat = inputs.map((t) => { const p = paints.find((at) => at >= t); return p ? p - t : NaN; }).filter(Number.isFinite);
if (process.env.VERBOSE) console.log(lat.map((x) => x.toFixed(0)).join(" "));
console.log(`type-ahead over ${materials} materials (CPU path): keystroke → suggestions painted p50 ${quantile(lat, 0.5).toFixed(2)} ms, p95 ${quantile(lat, 0.95).toFixed(2)} ms (n=${lat.length})`);
await browser.close(); await site.close();
