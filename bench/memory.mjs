// Benchmark: the tab's memory in one session that scores a 200 MB CSV and projects 5,400 codes
// (t-SNE, in the explorer's worker), against the 1 GB budget of issue 7. Reported: the peak
// resident memory of the tab's renderer process (page, both workers, wasm instances, plotly;
// VmHWM from /proc, the OS's own count), the page's peak JS heap, the scoring worker's wasm
// memory, and the page's wasm memory.
// Usage: node bench/memory.mjs <dist-dir> <file.csv> <scoring-bundle> <projection-bundle>
// (bench/memory.sh makes the inputs.)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

const [dist, file, scoring, projecting] = process.argv.slice(2, 6).map((p) => resolve(p));
process.env.MIXLAB_DIST = dist;
// Imported once MIXLAB_DIST is set: the harness reads it when it loads.
const { launch, open, serve, settled } = await import('../tests/browser/harness.mjs');

/** Chromium renderer processes: pid → { hwm, rss } in bytes. */
function renderers() {
  const out = {};
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
      out[pid] = { hwm: kb('VmHWM'), rss: kb('VmRSS') };
    } catch { /* gone */ }
  }
  return out;
}

const site = await serve({ mounts: [['/score-model/', scoring], ['/project-model/', projecting]] });
const browser = await launch({ webgpu: false, extraArgs: ['--enable-precise-memory-info', '--renderer-process-limit=1'] });
await browser.context.addInitScript(() => {
  addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail.wasm; });
  window.__heap = 0;
  setInterval(() => { if (performance.memory) window.__heap = Math.max(window.__heap, performance.memory.usedJSHeapSize); }, 20);
});
const { page, errors } = await open(browser.context, `${site.url}?model=score-model/&backend=cpu&page=score`);
if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
const t0 = Date.now();
await page.setInputFiles('#batch-file', file);
await page.waitForSelector('#batch-summary, #batch-error', { timeout: 900_000 });
if (await page.$('#batch-error')) throw new Error(await page.textContent('#batch-error'));
const scored = await page.$eval('#batch-summary', (e) => ({ ...e.dataset }));
const scoreS = (Date.now() - t0) / 1000;
const afterScore = renderers();
const heapScoring = await page.evaluate(() => window.__heap);
// The projection model in the same tab (the model picker's way: a link to it).
const t1 = Date.now();
await page.goto(`${site.url}?model=project-model/&backend=cpu#x=1&proj=tsne.2.p30.lr0.it1000.s1`);
if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
await page.waitForFunction(() => {
  const e = document.getElementById('explorer');
  return e?.dataset.spec?.startsWith('tsne') && e.dataset.job === 'idle' && e.dataset.origin === 'computed';
}, null, { timeout: 900_000 });
const projectS = (Date.now() - t1) / 1000;
const points = await page.evaluate(() => document.getElementById('explorer-plot').data[0].x.length);
const heap = Math.max(heapScoring, await page.evaluate(() => window.__heap));
const pageWasm = await page.evaluate(() => window.__wasm?.memory?.buffer.byteLength ?? 0);
if (errors.length) throw new Error(errors.join('\n'));
// The tab's renderer is the one that grew most (a spare renderer or the blank start page idle).
const tab = Object.entries(renderers()).sort((a, b) => b[1].hwm - a[1].hwm)[0];
await browser.close();
await site.close();
const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(`file: ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB), ${Number(scored.scored).toLocaleString()} rows scored in ${scoreS.toFixed(1)} s`);
console.log(`projection: t-SNE of ${points.toLocaleString()} codes in ${projectS.toFixed(1)} s (page load included)`);
console.log(`tab renderer process peak resident memory (VmHWM): ${mb(tab[1].hwm)} (after scoring: ${mb(afterScore[tab[0]]?.hwm ?? 0)}) — budget 1024 MiB: ${tab[1].hwm < 2 ** 30 ? 'met' : 'NOT met'}`);
console.log(`  page JS heap peak ${mb(heap)} (scoring ${mb(heapScoring)}), scoring worker wasm memory ${mb(Number(scored.memory))}, page wasm memory ${mb(pageWasm)}`);
console.log(JSON.stringify({ bytes: statSync(file).size, rows: Number(scored.scored), scoreS, projectS, points, tabPeak: tab[1].hwm, afterScore: afterScore[tab[0]]?.hwm ?? 0, heap, heapScoring, workerWasm: Number(scored.memory), pageWasm }));
