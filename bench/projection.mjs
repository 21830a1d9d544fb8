// Benchmark: each projection of a bundle's codes in headless Chromium, computed in the app's
// worker (request → coordinates back, as data-ms reports it, plus the wall time to the drawn
// plot), median of RUNS runs; the coordinates of the last run are written as CSV for the
// trustworthiness judged by scikit-learn (bench/projection_peers.py --score).
// Usage: node bench/projection.mjs <dist-dir> <bundle-dir> <out-dir> [runs=3] [methods=pca,tsne,umap,isomap,lle]
import { resolve, join } from 'node:path';
import { writeFileSync, mkdirSync } from 'node:fs';

const [dist, bundle, outDir] = process.argv.slice(2, 5).map((p) => resolve(p));
const runs = Number(process.argv[5] ?? 3);
const methods = (process.argv[6] ?? 'pca,tsne,umap,isomap,lle').split(',');
process.env.MIXLAB_DIST = dist;
// Imported once MIXLAB_DIST is set: the harness reads it when it loads.
const { launch, open, serve, settled } = await import('../tests/browser/harness.mjs');
mkdirSync(outDir, { recursive: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const site = await serve({ mounts: [['/bench-model/', bundle]] });
const browser = await launch({ webgpu: false });
const out = {};
for (const method of methods) {
  const figures = [];
  for (let r = 0; r < runs; r++) {
    // A fresh page per run: nothing cached from the run before.
    const { page, errors } = await open(browser.context, `${site.url}?model=bench-model/&backend=cpu`);
    if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
    await page.click('#nav-explore');
    await page.waitForSelector('#explorer[data-draws]', { timeout: 120_000 });
    const t0 = Date.now();
    if (method !== 'pca') await page.selectOption('#explorer-method', method);
    const token = await page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('proj') ?? 'pca.2');
    await page.waitForFunction((t) => {
      const e = document.getElementById('explorer');
      return (e.dataset.spec === t && e.dataset.job === 'idle') || e.dataset.job === 'failed';
    }, token, { timeout: 600_000 });
    const wall = Date.now() - t0;
    const ex = await page.$eval('#explorer', (e) => ({ ...e.dataset }));
    if (ex.job === 'failed') throw new Error(await page.textContent('#explorer-error'));
    figures.push({ ms: Number(ex.ms), wall, origin: ex.origin, spec: ex.spec });
    if (r === runs - 1) {
      const xy = await page.evaluate(() => {
        const t = document.getElementById('explorer-plot').data[0];
        return t.x.map((x, i) => `${x},${t.y[i]}`).join('\n');
      });
      writeFileSync(join(outDir, `app-${method}.csv`), xy + '\n');
    }
    if (errors.length) throw new Error(errors.join('\n'));
    await page.close();
    process.stderr.write(`${method} run ${r + 1}: ${ex.ms} ms in the worker (${ex.origin}), ${wall} ms to the plot\n`);
  }
  out[method] = {
    spec: figures[0].spec, origin: figures[0].origin,
    ms: median(figures.map((f) => f.ms)), wall_ms: median(figures.map((f) => f.wall)),
    runs: figures.map((f) => f.ms),
  };
}
await browser.close();
await site.close();
console.log(JSON.stringify(out));
