// The New model page in a real Chromium: a training file's columns guessed and chosen, a model
// trained in the page's worker equal to `mixlab train` with the command the page shows (same
// file, options and seed), the live curve and codes, the model current at once and
// downloadable, cancel, bad training files refused with their reason, and nothing sent.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ROOT, assertClose, launch, nativePrediction, open, serve, settled, showPage, shownPredictions,
} from './harness.mjs';

const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/debug/mixlab');
const CASES = JSON.parse(readFileSync(join(ROOT, 'tests/corpus/cases.json'), 'utf8'));
let scratch;

/** Files too big to keep in the repository, made when needed. */
function make(what) {
  assert.equal(what, 'too-wide');
  const path = join(scratch, 'too-wide.csv');
  const header = ['id', ...Array.from({ length: 99_999 }, (_, i) => `m${i}`), 'y'];
  writeFileSync(path, `${header.join(',')}\n${header.map((_, i) => (i === 0 ? 'a' : i === 1 ? 1 : 0)).join(',')}\n`);
  return path;
}

/** The largest absolute difference between two bundles' trained numbers (codes, layers,
 * snapshots; not the stored t-SNE/UMAP maps, which amplify any last-bit difference), by name. */
function maxDiff(a, b) {
  const tensors = (path) => {
    const buf = readFileSync(path);
    const size = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + size).toString('utf8'));
    const data = buf.subarray(8 + size);
    return Object.fromEntries(Object.entries(header).filter(([k]) => k !== '__metadata__' && !k.startsWith('projections.')).map(([k, t]) => {
      const [from, to] = t.data_offsets;
      const bytes = data.subarray(from, to);
      return [k, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))];
    }));
  };
  const [x, y] = [tensors(a), tensors(b)];
  let max = 0;
  for (const [k, v] of Object.entries(x)) {
    if (!y[k] || y[k].length !== v.length) return Infinity;
    v.forEach((e, i) => { max = Math.max(max, Math.abs(e - y[k][i])); });
  }
  return max;
}

/** The shell words of the command line the page shows (single-quoted words unquoted). */
function words(command) {
  const out = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  let m;
  while ((m = re.exec(command))) out.push(m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : m[2]);
  return out;
}

async function openTrain(context, url) {
  const { page, errors } = await open(context, url);
  assert.equal(await settled(page), 'ready');
  await showPage(page, 'train');
  return { page, errors };
}

/** Choose a training file; the automatic configuration (on by default for small files) is
 * turned off unless `auto`, so a test trains once with the options it sets. */
async function choose(page, file, { auto = false } = {}) {
  await page.setInputFiles('#train-file', file);
  await page.waitForSelector('#train:not([data-phase=reading])');
  await page.waitForSelector('#train-file-summary, #train-error', { timeout: 30_000 });
  const byDefault = await page.$('#train-auto') ? await page.isChecked('#train-auto') : null;
  if (byDefault !== null && byDefault !== auto) await page.click('#train-auto');
  return { autoByDefault: byDefault };
}

async function setOption(page, id, value) {
  await page.fill(id, String(value));
  await page.dispatchEvent(id, 'change');
}

/** Train and wait for the end; returns the phase. */
async function train(page, timeout = 180_000) {
  await page.click('#train-run');
  await page.waitForSelector('#train:not([data-phase=training])', { timeout });
  return page.getAttribute('#train', 'data-phase');
}

describe('train in the browser', () => {
  let browser, site, dir;
  before(async () => {
    browser = await launch({ webgpu: false });
    site = await serve();
    dir = mkdtempSync(join(tmpdir(), 'mixlab-train-'));
    scratch = dir;
  });
  after(async () => { await browser.close(); await site.close(); rmSync(dir, { recursive: true, force: true }); });

  for (const { name, file, steps, members, roles, descriptors, auto } of [
    {
      name: 'shampoo', file: 'data/shampoo/data.csv', steps: 400, members: 2,
      roles: { stable: ['target', true, false], turbidity_ntu: ['target', false, true], viscosity_10_per_s_cp: ['target', false, true], turbidity_error_ntu: ['ignore'] },
    },
    {
      name: 'concrete', file: 'data/concrete/data.csv', steps: 600, members: 1,
      roles: { age_days: ['condition', false, true], total_mass_kg_per_m3: ['condition', false, false], strength_mpa: ['target', false, false] },
    },
    {
      // Descriptor-informed codes (element properties; the bundle still holds plain codes) and
      // the log-dose block (pooled by the app as by the CLI).
      name: 'steels', file: 'data/steels/data.csv', steps: 300, members: 1, descriptors: true, auto: true,
      roles: { Fe: ['material'], C: ['material'], yield_strength_mpa: ['target', false, false] },
    },
  ]) {
    test(`${name}: the model trained in the page predicts as \`mixlab train\` with the command it shows`, async () => {
      const { page, errors } = await openTrain(browser.context, `${site.url}?backend=cpu`);
      const requests = [];
      // A worker imports the app's own script, the trainer loads its module and the first plot
      // loads plotly.js (GETs of the site's own code, no query); anything else — a POST, a query, another host — would be the
      // data leaving.
      const own = new URL(site.url).origin;
      const record = (r) => {
        const url = r.url();
        if (/^(blob|data):/.test(url)) return;
        if (r.method() === 'GET' && url.startsWith(`${own}/`) && /^[^?#]*\/(mixlab-app-[0-9a-f]+\.js|plotly-cartesian\.min\.js|mixlab-train-worker(\.js|_bg\.wasm))$/.test(url)) return;
        requests.push(`${r.method()} ${url}`);
      };
      browser.context.on('request', record);
      const { autoByDefault } = await choose(page, join(ROOT, file), { auto: !!auto });
      // These files are small: the configuration is chosen on held-out rows by default.
      assert.equal(autoByDefault, true, 'auto on by default');
      // The guessed roles are those the bundled model was trained with.
      for (const [column, [role, binary, log10]] of Object.entries(roles)) {
        const row = page.locator(`tr.train-column[data-column="${column}"]`);
        assert.equal(await row.getAttribute('data-role'), role, column);
        if (binary !== undefined && role === 'target') assert.equal(await row.locator('.train-binary').isChecked(), binary, `${column} binary`);
        if (log10 !== undefined) assert.equal(await row.locator('.train-log').isChecked(), log10, `${column} log10`);
      }
      await setOption(page, '#train-steps', steps);
      await setOption(page, '#train-members', members);
      await setOption(page, '#train-seed', 7);
      await setOption(page, '#train-name', `${name} trained here`);
      if (descriptors) {
        await page.click('#train-advanced summary');
        await page.check('#train-descriptors');
        await page.check('#train-log-dose');
        await setOption(page, '#train-offset-penalty', 0.5);
      }

      await page.click('#train-run');
      // Progress, the curve and the codes' map move while it trains.
      await page.waitForSelector('#train-progress', { timeout: 30_000 });
      await page.waitForFunction(() => Number(document.querySelector('#train-curve')?.dataset.points) >= 2, null, { timeout: 60_000 });
      await page.waitForSelector('#train:not([data-phase=training])', { timeout: 240_000 });
      assert.equal(await page.getAttribute('#train', 'data-phase'), 'done', await page.textContent('#train'));
      assert.ok(Number(await page.getAttribute('#train-map', 'data-spread')) > 0.01, 'the codes left the origin');
      // "Train on: the faster" timed the CPU on this model and, the training being short, kept
      // to it without trying WebGPU (this browser has none).
      assert.equal(await page.getAttribute('#train-compute', 'data-backend'), 'cpu');
      assert.match(await page.textContent('#train-compute'), /CPU: it trains this model at \d+ steps\/s/);
      // Kept in this browser: listed under the training form and in the model picker.
      await page.waitForSelector(`tr.kept-model[data-name="${name} trained here"]`);
      await page.waitForFunction((n) => document.querySelector('#model-picker')?.selectedOptions[0]?.textContent === n, `${name} trained here`);
      const points = Number(await page.getAttribute('#train-curve', 'data-points'));
      assert.equal(points, steps / 50, 'one curve point per check, member 0');

      // The same model from the command line the page shows.
      const command = words(await page.textContent('#train-command'));
      assert.deepEqual(command.slice(0, 4), ['mixlab', 'train', '--data', 'data.csv']);
      assert.deepEqual(command.slice(-2), ['--out', 'model']);
      if (descriptors) {
        assert.ok(command.includes('--descriptors=magpie') && command.includes('--offset-penalty=0.5') && command.includes('--log-dose'), command.join(' '));
      }
      if (auto) assert.ok(command.includes('--auto'), command.join(' '));
      const out = join(dir, name);
      execFileSync(CLI, ['train', '--data', join(ROOT, file), ...command.slice(4, -2), '--out', out], { stdio: 'pipe' });
      const native = nativePrediction(out);

      // The page's model is the current one: the editor predicts with it at once.
      await showPage(page, 'predict');
      await page.waitForFunction(() => document.querySelector('#predictions')?.dataset.busy === 'false');
      assertClose(assert, await shownPredictions(page), native.predictions, 1e-4);

      // The downloads are the bundle: the CLI opens them and predicts the same.
      await showPage(page, 'train');
      const bundle = join(dir, `${name}-page`);
      execFileSync('mkdir', ['-p', bundle]);
      for (const [button, fileName] of [['#train-download-manifest', 'manifest.json'], ['#train-download-weights', 'weights.safetensors']]) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
        assert.equal(download.suggestedFilename(), fileName);
        await download.saveAs(join(bundle, fileName));
      }
      if (auto) {
        // The search and its choice travel in the bundle, the same as the CLI's.
        const record = (dir) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).training.auto;
        const [inPage, inCli] = [record(bundle), record(out)];
        assert.equal(await page.getAttribute('#train-auto-chosen', 'data-chosen'), inCli.chosen.join(' '));
        assert.ok(inPage.trials.length >= 5, JSON.stringify(inPage));
        assert.deepEqual(inPage.chosen, inCli.chosen);
        console.log(`${name}: --auto chose ${inPage.chosen.join(' ')} after ${inPage.trials.length} candidates (${inPage.inner})`);
      }
      const fromPage = nativePrediction(bundle);
      assertClose(assert, fromPage.predictions, native.predictions, 1e-4);
      const same = Buffer.compare(readFileSync(join(bundle, 'weights.safetensors')), readFileSync(join(out, 'weights.safetensors'))) === 0;
      console.log(`${name}: weights from the page and the CLI are ${same ? 'bit-identical' : `not bit-identical (largest weight difference ${maxDiff(join(bundle, 'weights.safetensors'), join(out, 'weights.safetensors')).toExponential(2)}; predictions within 1e-4)`}`);

      // Cross-validation in the page equals `mixlab evaluate --kfold` with the same setup.
      await page.fill('#trust-folds', '3');
      await page.dispatchEvent('#trust-folds', 'change');
      await page.click('#trust-run');
      await page.waitForSelector('#trust:not([data-phase=running])', { timeout: 240_000 });
      assert.equal(await page.getAttribute('#trust', 'data-phase'), 'done', await page.textContent('#trust'));
      const evalArgs = command.slice(4, -2).filter((a) => !/^--(name|description|snapshots)=/.test(a));
      const codeDim = evalArgs.find((a) => a.startsWith('--code-dim=')).split('=')[1];
      const report = join(dir, `${name}-cv`);
      execFileSync(CLI, ['evaluate', '--data', join(ROOT, file), ...evalArgs, '--kfold', '3', '--code-dims', codeDim, '--out', report], { stdio: 'pipe' });
      const cliReport = JSON.parse(readFileSync(join(report, 'report.json'), 'utf8'));
      const cli = cliReport.results[0].splits;
      // With --auto each fold chose on its own training rows. The page's maths differ from the
      // CLI's in last bits, so a fold whose candidates score within ~1e-4 of the keep threshold
      // can choose differently (seen once in the steels case: 600 or 1200 steps); folds that
      // chose alike must agree as any other, and most folds must choose alike.
      const sameChoice = [];
      if (auto) {
        const chosen = await page.$$eval('#trust-chosen li', (ls) => ls.map((l) => l.dataset.chosen));
        const cliChosen = cliReport.auto.map((a) => a.chosen.join(' '));
        assert.equal(chosen.length, 3);
        chosen.forEach((c, f) => {
          sameChoice[f] = c === cliChosen[f];
          if (!sameChoice[f]) console.log(`${name}: fold ${f + 1} chose ${c} in the page, ${cliChosen[f]} in the CLI`);
        });
        assert.ok(sameChoice.filter(Boolean).length >= 2, JSON.stringify({ chosen, cliChosen }));
      }
      const rows = await page.$$eval('#trust-summary tr[data-target]', (rs) => rs.map((r) => [r.dataset.target, JSON.parse(r.dataset.foldMae)]));
      assert.ok(rows.length >= 1);
      const worst = [];
      for (const [target, foldMae] of rows) {
        assert.equal(foldMae.length, 3, target);
        foldMae.forEach((mae, f) => sameChoice[f] !== false && worst.push([Math.abs(mae - cli[f][target].eval.mae) / Math.abs(cli[f][target].eval.mae), `${target} fold ${f + 1}: page ${mae} vs CLI ${cli[f][target].eval.mae}`]));
      }
      worst.sort((p, q) => q[0] - p[0]);
      console.log(`${name}: cross-validation, largest relative difference page vs CLI: ${worst[0][1]}`);
      // Not bit-identical: the page's maths (wasm's libm) and glibc differ in last bits, and
      // training carries that further in some folds than in others.
      for (const [rel, what] of worst) assert.ok(rel <= 1e-2, what);
      for (const [k] of rows.entries()) {
        assert.ok(Number(await page.getAttribute(`#trust-parity-${k}`, 'data-points')) > 0, 'parity points drawn');
      }
      if (members > 1) assert.match(await page.textContent('#trust-summary .within-1'), /\d+ %/);
      await showPage(page, 'model');
      assert.match(await page.textContent('#model-card'), /cross-validated MAE/);
      browser.context.off('request', record);
      assert.deepEqual(requests, [], 'nothing was requested while reading, training, keeping, downloading and cross-validating');
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('training on WebGPU (the software adapter): the model is marked so and predicts as the CPU-trained one', async () => {
    // Its own Chromium with WebGPU (SwiftShader here: compiling the training's kernels takes
    // tens of seconds and a step about half a second, so a short training).
    const gpu = await launch({ webgpu: true });
    const { page, errors } = await openTrain(gpu.context, `${site.url}?backend=cpu`);
    await choose(page, join(ROOT, 'data/concrete/data.csv'));
    const steps = 20;
    await setOption(page, '#train-steps', steps);
    await setOption(page, '#train-members', 1);
    await setOption(page, '#train-seed', 3);
    await setOption(page, '#train-name', 'concrete on webgpu');
    await page.click('#train-advanced summary');
    await page.selectOption('#train-compute-choice', 'webgpu');
    assert.equal(await train(page, 300_000), 'done', await page.textContent('#train'));
    assert.equal(await page.getAttribute('#train-compute', 'data-backend'), 'webgpu', await page.textContent('#train-compute'));
    const bundle = join(dir, 'concrete-webgpu');
    execFileSync('mkdir', ['-p', bundle]);
    for (const [button, fileName] of [['#train-download-manifest', 'manifest.json'], ['#train-download-weights', 'weights.safetensors']]) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      await download.saveAs(join(bundle, fileName));
    }
    assert.equal(JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')).training.backend, 'webgpu');
    // The same options on the CPU (the CLI): a GPU sums in another order, so the weights differ
    // in last digits, and 20 Adam steps keep that small.
    const command = words(await page.textContent('#train-command'));
    const out = join(dir, 'concrete-cpu');
    execFileSync(CLI, ['train', '--data', join(ROOT, 'data/concrete/data.csv'), ...command.slice(4, -2), '--out', out], { stdio: 'pipe' });
    const [onGpu, onCpu] = [nativePrediction(bundle).predictions, nativePrediction(out).predictions];
    console.log(`webgpu: prediction ${JSON.stringify(onGpu)} vs CPU ${JSON.stringify(onCpu)}; largest weight difference ${maxDiff(join(bundle, 'weights.safetensors'), join(out, 'weights.safetensors')).toExponential(2)}`);
    assertClose(assert, onGpu, onCpu, 1e-3);
    // The editor predicts with it at once (on the page's own backend).
    await showPage(page, 'predict');
    await page.waitForFunction(() => document.querySelector('#predictions')?.dataset.busy === 'false');
    assertClose(assert, await shownPredictions(page), onGpu, 1e-4);
    assert.deepEqual(errors, []);
    await page.close();
    await gpu.close();
  });

  test('a trained model is kept across reloads: in the picker, the same predictions, renamed, deleted', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    await page.waitForSelector('#model-picker optgroup option', { state: 'attached' });
    const kept = await page.$$eval('#model-picker optgroup option', (os) => os.map((o) => ({ value: o.value, name: o.textContent })));
    const shampoo = kept.find((k) => k.name === 'shampoo trained here');
    assert.ok(shampoo, JSON.stringify(kept));
    assert.ok(shampoo.value.startsWith('kept:'));
    await page.selectOption('#model-picker', shampoo.value);
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'shampoo trained here');
    await page.waitForFunction(() => document.querySelector('#predictions')?.dataset.busy === 'false');
    assertClose(assert, await shownPredictions(page), nativePrediction(join(dir, 'shampoo')).predictions, 1e-4);

    await showPage(page, 'train');
    const row = page.locator(`tr.kept-model[data-id="${shampoo.value.slice(5)}"]`);
    await row.locator('.kept-name').fill('my shampoo');
    await row.locator('.kept-rename').click();
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'my shampoo');
    await page.reload();
    assert.equal(await settled(page), 'ready');
    await page.waitForFunction(() => [...document.querySelectorAll('#model-picker optgroup option')].some((o) => o.textContent === 'my shampoo'));
    await showPage(page, 'train');
    const count = Number(await page.getAttribute('#kept-models', 'data-count'));
    await page.locator(`tr.kept-model[data-id="${shampoo.value.slice(5)}"] .kept-delete`).click();
    await page.waitForFunction((n) => Number(document.querySelector('#kept-models')?.dataset.count) === n - 1, count);
    assert.ok(!(await page.$$eval('#model-picker optgroup option', (os) => os.map((o) => o.textContent))).includes('my shampoo'));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('bad training files (corpus kind "train"): the CLI and the page say the same, the page keeps going', async () => {
    const cases = CASES.filter((c) => c.kind === 'train');
    assert.ok(cases.length >= 8);
    const { page, errors } = await openTrain(browser.context, `${site.url}?backend=cpu`);
    for (const c of cases) {
      const path = c.file ? join(ROOT, 'tests/corpus', c.file) : make(c.make);
      const r = spawnSync(CLI, ['train', '--data', path, '--targets', c.targets, '--steps', '1', '--out', join(dir, c.id)], { encoding: 'utf8' });
      assert.notEqual(r.status, 0, c.id);
      for (const e of c.expect) assert.ok(r.stderr.includes(e), `${c.id}: CLI said ${r.stderr}`);

      await choose(page, path);
      let shown;
      if (await page.getAttribute('#train', 'data-phase') === 'failed') {
        shown = await page.textContent('#train-error');
      } else {
        // The roles as the CLI was told: the target column (binary when said so).
        const [column, kind] = c.targets.split(':');
        const row = page.locator(`tr.train-column[data-column="${column}"]`);
        await row.locator('select.train-role').selectOption('target');
        const binary = row.locator('.train-binary');
        if (kind === 'binary' && !(await binary.isChecked())) await binary.click();
        await setOption(page, '#train-steps', 1);
        await train(page);
        shown = await page.textContent('#train-error');
      }
      for (const e of c.expect) assert.ok(shown.includes(e), `${c.id}: the page said ${shown}`);
      const name = path.split('/').at(-1);
      assert.ok(shown.includes(name), `${c.id}: the message names the file: ${shown}`);
    }
    // Still working: a good file reads after all of them.
    await choose(page, join(ROOT, 'data/concrete/data.csv'));
    assert.equal(await page.getAttribute('#train-file-summary', 'data-rows'), '1030');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a file with hundreds of material columns: the roles table finds any of them by name, and the role sticks', async () => {
    // 250 materials (only the first 200 are listed at once), 30 recipes of three each.
    const names = Array.from({ length: 250 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const rows = Array.from({ length: 30 }, (_, r) => {
      const f = names.map(() => 0);
      [r, (r * 7 + 3) % 250, (r * 13 + 245) % 250].forEach((j, k) => { f[j] += [0.5, 0.3, 0.2][k]; });
      return [...f, (r % 5) + 0.1 * r].join(',');
    });
    const path = join(dir, 'many-materials.csv');
    writeFileSync(path, [[...names, 'y'].join(','), ...rows].join('\n') + '\n');
    const { page, errors } = await openTrain(browser.context, `${site.url}?backend=cpu`);
    await choose(page, path);
    await page.click('#train-materials summary');
    const listed = () => page.locator('#train-materials tr.train-column').count();
    assert.match(await page.textContent('#train-materials summary'), /250 columns taken for materials/);
    assert.match(await page.textContent('#train-materials-shown'), /250 match; the first 200 are listed/);
    assert.equal(await listed(), 200);
    // m245 is not among the first 200: the filter reaches it.
    assert.equal(await page.locator('tr.train-column[data-column="m245"]').count(), 0);
    await page.fill('#train-materials-filter', 'm24');
    await page.waitForFunction(() => document.querySelectorAll('#train-materials tr.train-column').length === 10);
    assert.match(await page.textContent('#train-materials-shown'), /^ ?10 match$/);
    const row = page.locator('tr.train-column[data-column="m245"]');
    assert.equal(await row.getAttribute('data-role'), 'material');
    await row.locator('select.train-role').selectOption('ignore');
    // The role is kept when the filter changes and comes back.
    await page.fill('#train-materials-filter', '');
    await page.waitForFunction(() => document.querySelectorAll('#train-materials tr.train-column').length === 200);
    await page.fill('#train-materials-filter', 'M245');
    await page.waitForFunction(() => document.querySelectorAll('#train-materials tr.train-column').length === 1);
    assert.equal(await row.getAttribute('data-role'), 'ignore');
    // And the model is trained without it: the command the page shows drops it.
    await page.locator('tr.train-column[data-column="y"] select.train-role').selectOption('target');
    await setOption(page, '#train-steps', 50);
    assert.equal(await train(page), 'done', await page.textContent('#train'));
    const command = words(await page.textContent('#train-command'));
    const drop = command.find((w) => w.startsWith('--drop='));
    assert.ok(drop && drop.split('=')[1].split(',').includes('m245'), command.join(' '));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a new material from a few trials: the page fits the code as `mixlab fit-material` does', async () => {
    // Twelve concrete mixes with some silica fume (replacing cement), measured stronger.
    const [head, ...lines] = readFileSync(join(ROOT, 'data/concrete/data.csv'), 'utf8').trim().split('\n');
    const cols = head.split(',');
    const at = (n) => cols.indexOf(n);
    const materials = cols.slice(1, at('age_days'));
    const rows = lines.filter((_, i) => i % 80 === 3).slice(0, 12).map((l, i) => {
      const v = l.split(',');
      const sf = 0.005 + 0.002 * (i % 5);
      const amounts = materials.map((m) => Number(v[at(m)]) - (m === 'cement' ? sf : 0));
      return [`T${i}`, ...amounts, sf, v[at('age_days')], v[at('total_mass_kg_per_m3')], Number(v[at('strength_mpa')]) + 400 * sf].join(',');
    });
    const trials = join(dir, 'silica-fume-trials.csv');
    writeFileSync(trials, [['id', ...materials, 'silica_fume', 'age_days', 'total_mass_kg_per_m3', 'strength_mpa'].join(','), ...rows].join('\n') + '\n');

    const { page, errors } = await openTrain(browser.context, `${site.url}?model=models/concrete/&backend=cpu`);
    await page.fill('#fit-name', 'silica_fume');
    await page.selectOption('#fit-start', 'cement');
    await page.fill('#fit-steps', '300');
    await page.dispatchEvent('#fit-steps', 'change');
    await page.setInputFiles('#fit-file', trials);
    await page.click('#fit-run');
    await page.waitForSelector('#new-material:not([data-phase=running])', { timeout: 120_000 });
    assert.equal(await page.getAttribute('#new-material', 'data-phase'), 'done', await page.textContent('#new-material'));
    const row = page.locator('#fit-result tr[data-target="strength_mpa"]');
    const [before, after] = [Number(await row.getAttribute('data-before')), Number(await row.getAttribute('data-after'))];

    const out = join(dir, 'concrete-silica');
    const report = JSON.parse(execFileSync(CLI, ['fit-material', '--bundle', join(ROOT, 'public/models/concrete'), '--material', 'silica_fume',
      '--start-from', 'cement', '--steps', '300', '--targets', 'strength_mpa', '--conditions', 'age_days,total_mass_kg_per_m3',
      '--data', trials, '--out', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.abs(b);
    assert.ok(close(before, report.before.strength_mpa.mae), `before: page ${before} vs CLI ${report.before.strength_mpa.mae}`);
    assert.ok(close(after, report.after.strength_mpa.mae), `after: page ${after} vs CLI ${report.after.strength_mpa.mae}`);
    assert.ok(after < before, `the error on the trials fell: ${before} → ${after}`);
    // The grown model is current: the new material is one of its materials.
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent.endsWith('+ silica_fume'));
    await showPage(page, 'model');
    assert.match(await page.textContent('#model-card'), /silica_fume/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('cancel stops training and keeps the current model and the form', async () => {
    const { page, errors } = await openTrain(browser.context, `${site.url}?backend=cpu`);
    const before = await page.textContent('#model-name');
    assert.ok(before.length > 0);
    await choose(page, join(ROOT, 'data/concrete/data.csv'));
    await setOption(page, '#train-steps', 200000);
    await page.click('#train-run');
    await page.waitForFunction(() => Number(document.querySelector('#train-progress')?.dataset.step) > 0, null, { timeout: 60_000 });
    await page.click('#train-cancel');
    assert.equal(await page.getAttribute('#train', 'data-phase'), 'idle');
    assert.equal(await page.textContent('#model-name'), before);
    assert.match(await page.textContent('#notice'), /Training cancelled/);
    // The form keeps the file and the options.
    assert.equal(await page.inputValue('#train-steps'), '200000');

    assert.deepEqual(errors, []);
    await page.close();
  });
});
