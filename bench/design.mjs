// Benchmark: Design page, "Find recipes" → first ranked candidates on screen (a preview) and the final list, CPU path, headless
// Chromium, median of N runs per model, beside `mixlab design` (native, same spec and seed)
// in the same run. Models: the bundled ones with their example specs, and optionally a
// study-scale bundle (5,400 materials) with a spec file.
// Usage: node bench/design.mjs [dist-dir] [runs=3] [study-bundle-dir study-spec.json]
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const runs = Number(process.argv[3] ?? 3);
const study = process.argv[4] ? [resolve(process.argv[4]), resolve(process.argv[5])] : null;
process.env.MIXLAB_DIST = dist;
const { launch, open, serve, settled, showPage, ROOT } = await import('../tests/browser/harness.mjs');
const cli = process.env.MIXLAB_CLI ?? join(ROOT, '../.cache/mixlab/target-native/release/mixlab');

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const tmp = mkdtempSync(join(tmpdir(), 'mixlab-design-bench-'));
const cases = ['concrete', 'shampoo', 'glass-tg', 'steels'].map((m) => ({
  name: m, model: `models/${m}/`, bundle: join(ROOT, `public/models/${m}`), spec: join(ROOT, `public/examples/design-${m}.json`),
}));
const mounts = [];
if (study) {
  const dir = join(tmp, 'study');
  cpSync(study[0], dir, { recursive: true });
  mounts.push(['/study/', dir]);
  cases.push({ name: 'study scale (5,400 materials)', model: 'study/', bundle: study[0], spec: study[1] });
}
const site = await serve({ mounts });
const browser = await launch({ webgpu: false });
console.log(`design: Find recipes → ranked candidates shown, CPU path, median of ${runs}; mixlab design (native) beside it`);
for (const c of cases) {
  const times = [], firsts = [], best = [];
  const spec = (await import('node:fs')).readFileSync(c.spec, 'utf8');
  for (let i = 0; i < runs; i++) {
    const { page } = await open(browser.context, `${site.url}?model=${c.model}&backend=cpu`);
    if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
    await showPage(page, 'design');
    await page.click('#design-section summary');
    await page.fill('#design-json', spec);
    await page.click('#design-apply-json');
    // Time to the first ranked recipes on screen (a preview while the search goes on) and to
    // the final list, both from the click, measured in the page.
    await page.evaluate(() => {
      window.__firstRows = null;
      new MutationObserver(() => {
        if (window.__firstRows === null && document.querySelector('#design-results tr[data-rank]')) window.__firstRows = performance.now();
      }).observe(document.body, { childList: true, subtree: true });
    });
    const t0 = await page.evaluate(() => performance.now());
    await page.click('#design-run');
    await page.waitForSelector('#design[data-phase=done] #design-results tr[data-rank]', { timeout: 300_000 });
    const t1 = await page.evaluate(() => performance.now());
    firsts.push((await page.evaluate(() => window.__firstRows)) - t0);
    times.push(t1 - t0);
    best.push(Number(await page.getAttribute('#design-results tr[data-rank="1"]', 'data-desirability')));
    await page.close();
  }
  const nat = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(cli, ['design', '--bundle', c.bundle, '--spec', c.spec, '--out', join(tmp, 'out.csv')], { stdio: 'pipe' });
    nat.push(performance.now() - t0);
  }
  console.log(`  ${c.name.padEnd(32)} page: first ranked ${median(firsts).toFixed(0).padStart(5)} ms, final ${median(times).toFixed(0).padStart(5)} ms (${times.map((t) => t.toFixed(0)).join(', ')}), best desirability ${best[0].toFixed(4)}; native CLI ${median(nat).toFixed(0)} ms (process start included)`);
}
await browser.close(); await site.close();
rmSync(tmp, { recursive: true, force: true });
