// Benchmark: training in the app (the New model page's worker, CPU/WebAssembly) against the
// native `mixlab train` and, when TORCH_PY names a Python with torch, the same model in PyTorch
// (bench/torch_train.py, CPU, 1 thread); runs interleaved, medians and ratios from one run. Also
// the tab's peak renderer memory (VmHWM) and the longest gap between progress-bar moves.
//
//   node bench/app-train.mjs <dist> <data.csv> <runs> [mixlab train options...]   (WARMUP=0: no untimed first run)
//   e.g. node bench/app-train.mjs dist-bench data/concrete/data.csv 3 --targets strength_mpa \
//          --conditions age_days:log10,total_mass_kg_per_m3 --code-dim 8 --hidden 64,64 --steps 3000
//
// COMPUTE=cpu|webgpu|auto sets the page's "Train on" (default cpu; webgpu and auto launch Chromium
// with WebGPU, which is SwiftShader on a machine without a GPU).
//
// The page's roles are set from --targets/--conditions (other columns keep the page's guess, and
// columns neither named nor guessed as materials are ignored). Not a test; figures go to
// docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [dist, data, runsArg, ...opts] = process.argv.slice(2);
process.env.MIXLAB_DIST = resolve(dist);
const { launch, open, serve, settled, showPage, ROOT } = await import('../tests/browser/harness.mjs');
const runs = Number(runsArg ?? 3);
const arg = (name, fallback) => { const i = opts.indexOf(name); return i >= 0 ? opts[i + 1] : fallback; };
const steps = Number(arg('--steps', 3000));
const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/release/mixlab');
const COMPUTE = process.env.COMPUTE ?? 'cpu';

function renderers() {
  const out = {};
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      out[pid] = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
    } catch { /* gone */ }
  }
  return out;
}

const site = await serve();
const browser = await launch({ webgpu: COMPUTE !== 'cpu', extraArgs: ['--renderer-process-limit=1'] });

async function app() {
  const { page } = await open(browser.context, `${site.url}?backend=cpu`);
  if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
  await showPage(page, 'train');
  const t0 = Date.now();
  await page.setInputFiles('#train-file', resolve(data));
  await page.waitForSelector('#train-file-summary, #train-error', { timeout: 600_000 });
  if (await page.$('#train-error')) throw new Error(await page.textContent('#train-error'));
  const readS = (Date.now() - t0) / 1000;
  const set = async (id, v) => { await page.fill(id, String(v)); await page.dispatchEvent(id, 'change'); };
  const targets = new Map(arg('--targets', '').split(',').filter(Boolean).map((t) => t.split(':')));
  const conditions = new Map(arg('--conditions', '').split(',').filter(Boolean).map((t) => t.split(':')));
  for (const row of await page.$$('tr.train-column')) {
    const column = await row.getAttribute('data-column');
    if (!(await row.$('select.train-role'))) continue; // a long file's own columns
    const role = targets.has(column) ? 'target' : conditions.has(column) ? 'condition'
      : await row.getAttribute('data-role') === 'material' || await row.getAttribute('data-role') === 'id' ? null : 'ignore';
    if (role) await row.$eval('select.train-role', (s, r) => { s.value = r; s.dispatchEvent(new Event('change')); }, role);
    const log = targets.get(column) === 'log10' || conditions.get(column) === 'log10';
    const binary = targets.get(column) === 'binary';
    const box = async (cls, on) => { const b = await row.$(cls); if (b && await b.isChecked() !== on) await b.click(); };
    if (role === 'target' || role === 'condition') await box('.train-log', log && !binary);
    if (role === 'target') await box('.train-binary', binary);
  }
  // The options as given (a small file starts with --auto on).
  if (await page.isChecked('#train-auto') !== opts.includes('--auto')) await page.click('#train-auto');
  await set('#train-code-dim', arg('--code-dim', 8));
  await set('#train-hidden', arg('--hidden', '64,64'));
  await set('#train-steps', steps);
  await set('#train-seed', arg('--seed', 1));
  await set('#train-members', arg('--members', 1));
  await page.$eval('#train-advanced', (d) => { d.open = true; });
  await page.selectOption('#train-compute-choice', COMPUTE);
  await page.evaluate(() => {
    // The page's own long tasks (a draw that holds the main thread holds the bar too).
    window.__long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([e.startTime, e.duration])))
      .observe({ type: 'longtask' });
    window.__moves = [];
    let last = null;
    new MutationObserver(() => {
      const step = document.querySelector('#train-progress')?.dataset.step;
      if (step !== undefined && step !== last) { last = step; window.__moves.push([performance.now(), step]); }
    }).observe(document.querySelector('#train'), { subtree: true, childList: true, attributes: true });
  });
  await page.click('#train-run');
  await page.waitForSelector('#train:not([data-phase=training])', { timeout: 3_600_000 });
  if (await page.getAttribute('#train', 'data-phase') !== 'done') throw new Error(await page.textContent('#train'));
  const trainS = Number(await page.getAttribute('#train-result', 'data-train-ms')) / 1000;
  const allS = Number(await page.getAttribute('#train-result', 'data-ms')) / 1000;
  const moves = await page.evaluate(() => window.__moves);
  // The longest stretch without a move, and the progress values on either side of it.
  const longest = moves.slice(1).reduce((g, [t, s], i) => (t - moves[i][0] > g[0] ? [t - moves[i][0], moves[i][1], s] : g), [0, '', '']);
  const gap = longest[0] / 1000;
  const gapAt = `between ${longest[1]} and ${longest[2]}`;
  const long = await page.evaluate(() => window.__long);
  const longest_task = long.reduce((a, t) => (t[1] > a[1] ? t : a), [0, 0]);
  if (process.env.LONGTASKS) {
    console.error('moves', JSON.stringify(moves.map(([t, s]) => [Math.round(t), s])));
    console.error('long tasks', JSON.stringify(long.map(([t, d]) => [Math.round(t), Math.round(d)])));
  }
  const compute = await page.textContent('#train-compute');
  const metrics = await page.$$eval('#train-metrics tr', (rs) => rs.map((r) => `${r.dataset.metric}=${r.querySelector('td').textContent}`));
  const memory = Math.max(...Object.values(renderers()));
  await page.close();
  return { readS, trainS, allS, gap, gapAt, memory, metrics, compute, task: longest_task[1] / 1000 };
}

function cli() {
  const out = mkdtempSync(join(tmpdir(), 'mixlab-bench-train-'));
  const t = process.hrtime.bigint();
  execFileSync(CLI, ['train', '--data', data, ...opts, '--out', out], { stdio: 'pipe' });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function cliFixed() {
  const out = mkdtempSync(join(tmpdir(), 'mixlab-bench-train-'));
  const one = opts.map((o, i) => (opts[i - 1] === '--steps' ? '1' : o));
  const t = process.hrtime.bigint();
  execFileSync(CLI, ['train', '--data', data, ...one, '--out', out], { stdio: 'pipe' });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function torch() {
  if (!process.env.TORCH_PY) return null;
  const torchOpts = ['--data', data, '--targets', arg('--targets'), '--conditions', arg('--conditions', ''),
    '--code-dim', arg('--code-dim', 8), '--hidden', arg('--hidden', '64,64'), '--batch-size', arg('--batch-size', 64),
    '--learning-rate', arg('--learning-rate', 0.003), '--seed', arg('--seed', 1), '--steps', steps, '--threads', 1];
  const out = JSON.parse(execFileSync(process.env.TORCH_PY, ['bench/torch_train.py', ...torchOpts.map(String)], { encoding: 'utf8' }));
  return out.train_seconds;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rows = { app: [], cli: [], fixed: [], torch: [] };
if (process.env.WARMUP !== '0') {
  console.error('warm-up (untimed) ...');
  await app();
}
for (let i = 0; i < runs; i++) {
  console.error(`run ${i + 1}/${runs} ...`);
  rows.app.push(await app());
  rows.cli.push(cli());
  rows.fixed.push(cliFixed());
  const t = torch();
  if (t !== null) rows.torch.push(t);
}
const appLoop = median(rows.app.map((r) => r.trainS));
const cliLoop = median(rows.cli) - median(rows.fixed);
console.log(`\nTraining in the app vs native, ${data} (${opts.join(' ')}), ${steps} steps, median of ${runs} interleaved runs\n`);
console.log('| trainer | training loop (s) | steps/s | whole run (s) | runs (loop s) |');
console.log('|---|---|---|---|---|');
console.log(`| app, New model page (wasm, ${COMPUTE === 'cpu' ? 'CPU' : COMPUTE}, worker) | ${appLoop.toFixed(2)} | ${(steps / appLoop).toFixed(0)} | ${median(rows.app.map((r) => r.allS)).toFixed(2)} (+ ${median(rows.app.map((r) => r.readS)).toFixed(2)} s to read the columns) | ${rows.app.map((r) => r.trainS.toFixed(2)).join(', ')} |`);
console.log(`| mixlab train (native, CPU) | ${cliLoop.toFixed(2)} (est.) | ${(steps / cliLoop).toFixed(0)} | ${median(rows.cli).toFixed(2)} | ${rows.cli.map((x) => x.toFixed(2)).join(', ')} |`);
if (rows.torch.length) {
  const t = median(rows.torch);
  console.log(`| PyTorch eager (CPU, 1 thread) | ${t.toFixed(2)} | ${(steps / t).toFixed(0)} | | ${rows.torch.map((x) => x.toFixed(2)).join(', ')} |`);
}
console.log(`\nratio app / native CLI (training loop): ${(cliLoop / appLoop).toFixed(2)}× the CLI's speed`);
if (rows.torch.length) console.log(`ratio app / PyTorch (training loop): ${(median(rows.torch) / appLoop).toFixed(2)}× PyTorch's speed`);
console.log(`peak renderer memory (VmHWM, the tab): ${(Math.max(...rows.app.map((r) => r.memory)) / 2 ** 20).toFixed(0)} MiB`);
const slowest = rows.app.reduce((a, r) => (r.gap > a.gap ? r : a));
console.log(`longest gap between progress-bar moves: ${slowest.gap.toFixed(2)} s (${slowest.gapAt})`);
console.log(`longest task on the page's main thread: ${Math.max(...rows.app.map((r) => r.task)).toFixed(2)} s`);
console.log(`where the page trained (last run): ${rows.app.at(-1).compute}`);
console.log(`app metrics (last run): ${rows.app.at(-1).metrics.join(', ')}`);
await browser.close();
await site.close();
