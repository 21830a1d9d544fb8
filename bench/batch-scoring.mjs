// Benchmark: "Score a file" in headless Chromium, from the file handed to the page to the
// results on screen (check pass + scoring pass in the worker + the results view), on the CPU
// path and on WebGPU (SwiftShader), with the page's peak JS heap and the worker's wasm memory.
// The file goes in through the file input (a disk-backed File, as a drop gives).
// Usage: node bench/batch-scoring.mjs <dist-dir> <file.csv> <bundle-dir> [runs=3]
// (BACKENDS=cpu to skip WebGPU.)
// (bench/batch-scoring.sh makes the 100,000 × 60 synthetic file and its bundle, and runs the
// PyTorch + pandas peer beside it.)
import { resolve } from 'node:path';
import { statSync } from 'node:fs';

const [dist, file, bundle] = process.argv.slice(2, 5).map((p) => resolve(p));
const runs = Number(process.argv[5] ?? 3);
process.env.MIXLAB_DIST = dist;
// Imported once MIXLAB_DIST is set: the harness reads it when it loads.
const { launch, open, serve, settled } = await import('../tests/browser/harness.mjs');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const site = await serve({ mounts: [['/bench-model/', bundle]] });
const out = { file, bytes: statSync(file).size, backends: {} };
const wanted = (process.env.BACKENDS ?? 'cpu,webgpu').split(',');
for (const [backend, webgpu] of [['cpu', false], ['webgpu', true]].filter(([b]) => wanted.includes(b))) {
  const browser = await launch({ webgpu, extraArgs: ['--enable-precise-memory-info'] });
  const figures = [];
  for (let r = 0; r < runs; r++) {
    const { page, errors } = await open(browser.context, `${site.url}?model=bench-model/&backend=${backend}&page=score`);
    if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
    await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
    const worker = await page.getAttribute('#batch', 'data-worker');
    if (worker !== backend) throw new Error(`worker on ${worker}, wanted ${backend}`);
    await page.evaluate(() => {
      window.__heap = performance.memory.usedJSHeapSize;
      window.__sampler = setInterval(() => { window.__heap = Math.max(window.__heap, performance.memory.usedJSHeapSize); }, 20);
    });
    const t0 = Date.now();
    await page.setInputFiles('#batch-file', file);
    await page.waitForSelector('#batch-summary, #batch-error', { timeout: 600_000 });
    const ms = Date.now() - t0;
    if (await page.$('#batch-error')) throw new Error(await page.textContent('#batch-error'));
    const summary = await page.$eval('#batch-summary', (e) => ({ ...e.dataset }));
    const checkMs = Number(await page.getAttribute('#batch-report', 'data-check-ms'));
    const heap = await page.evaluate(() => { clearInterval(window.__sampler); return window.__heap; });
    if (errors.length) throw new Error(errors.join('\n'));
    const rows = Number(summary.scored);
    figures.push({ ms, rows, rowsPerS: rows / (ms / 1000), checkMs, scoreMs: Number(summary.ms), heap, wasm: Number(summary.memory) });
    console.error(`${backend} run ${r + 1}: ${rows} rows in ${ms} ms (check ${checkMs.toFixed(0)} ms, score ${summary.ms} ms), page heap peak ${(heap / 1e6).toFixed(1)} MB, worker wasm ${(Number(summary.memory) / 1e6).toFixed(1)} MB`);
    await page.close();
  }
  await browser.close();
  out.backends[backend] = {
    runs: figures,
    median_ms: median(figures.map((f) => f.ms)),
    median_rows_per_s: median(figures.map((f) => f.rowsPerS)),
    median_check_ms: median(figures.map((f) => f.checkMs)),
    median_score_ms: median(figures.map((f) => f.scoreMs)),
    peak_heap_bytes: Math.max(...figures.map((f) => f.heap)),
    worker_wasm_bytes: Math.max(...figures.map((f) => f.wasm)),
  };
}
await site.close();
console.log(JSON.stringify(out));
