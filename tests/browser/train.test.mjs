// The New model page in a real Chromium: a training file's columns guessed and chosen, a model
// trained in the page's worker equal to `mixlab train` with the command the page shows (same
// file, options and seed), the live curve and codes, the model current at once and
// downloadable, cancel, bad training files refused with their reason, and nothing sent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ROOT, assertClose, launch, nativePrediction, open, serve, settled, showPage, shownPredictions,
} from './harness.mjs';

const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/debug/mixlab');

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

async function choose(page, file) {
  await page.setInputFiles('#train-file', file);
  await page.waitForSelector('#train:not([data-phase=reading])');
  await page.waitForSelector('#train-file-summary, #train-error', { timeout: 30_000 });
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
  });
  after(async () => { await browser.close(); await site.close(); rmSync(dir, { recursive: true, force: true }); });

  for (const { name, file, steps, members, roles } of [
    {
      name: 'shampoo', file: 'data/shampoo/data.csv', steps: 400, members: 2,
      roles: { stable: ['target', true, false], turbidity_ntu: ['target', false, true], viscosity_10_per_s_cp: ['target', false, true], turbidity_error_ntu: ['ignore'] },
    },
    {
      name: 'concrete', file: 'data/concrete/data.csv', steps: 600, members: 1,
      roles: { age_days: ['condition', false, true], total_mass_kg_per_m3: ['condition', false, false], strength_mpa: ['target', false, false] },
    },
  ]) {
    test(`${name}: the model trained in the page predicts as \`mixlab train\` with the command it shows`, async () => {
      const { page, errors } = await openTrain(browser.context, `${site.url}?backend=cpu`);
      const requests = [];
      // A worker imports the app's own script (same origin, a GET of a file the page already
      // has); anything else — a POST, another file, another host — would be the data leaving.
      const own = new URL(site.url).origin;
      const record = (r) => {
        const url = r.url();
        if (/^(blob|data):/.test(url)) return;
        if (r.method() === 'GET' && url.startsWith(own) && /\/mixlab-app-[0-9a-f]+\.js$/.test(url)) return;
        requests.push(`${r.method()} ${url}`);
      };
      browser.context.on('request', record);
      await choose(page, join(ROOT, file));
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
      await page.click('#train-run');
      // Progress, the curve and the codes' map move while it trains.
      await page.waitForSelector('#train-progress', { timeout: 30_000 });
      await page.waitForFunction(() => Number(document.querySelector('#train-curve')?.dataset.points) >= 2, null, { timeout: 60_000 });
      await page.waitForSelector('#train:not([data-phase=training])', { timeout: 240_000 });
      assert.equal(await page.getAttribute('#train', 'data-phase'), 'done', await page.textContent('#train'));
      browser.context.off('request', record);
      assert.deepEqual(requests, [], 'nothing was requested while reading and training');
      assert.ok(Number(await page.getAttribute('#train-map', 'data-spread')) > 0.01, 'the codes left the origin');
      // Kept in this browser: listed under the training form and in the model picker.
      await page.waitForSelector(`tr.kept-model[data-name="${name} trained here"]`);
      const points = Number(await page.getAttribute('#train-curve', 'data-points'));
      assert.equal(points, steps / 50, 'one curve point per check, member 0');

      // The same model from the command line the page shows.
      const command = words(await page.textContent('#train-command'));
      assert.deepEqual(command.slice(0, 4), ['mixlab', 'train', '--data', 'data.csv']);
      assert.deepEqual(command.slice(-2), ['--out', 'model']);
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
      const fromPage = nativePrediction(bundle);
      assertClose(assert, fromPage.predictions, native.predictions, 1e-4);
      const same = Buffer.compare(readFileSync(join(bundle, 'weights.safetensors')), readFileSync(join(out, 'weights.safetensors'))) === 0;
      console.log(`${name}: weights from the page and the CLI are ${same ? 'bit-identical' : 'not bit-identical (predictions within 1e-4)'}`);
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

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

  test('cancel stops training and keeps the current model; bad files are refused with their reason', async () => {
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

    const cases = [
      ['empty.csv', '', /no data rows|empty/i],
      ['header-only.csv', 'id,a,b,y\n', /no data rows/i],
      ['constant-words.csv', 'id,a,b,y\n1,0.5,0.5,x\n2,0.4,0.6,y\n', /no column is a target|target/i],
      ['interrupted.csv', 'id,a,b,y\n1,0.5,0.5,3\n2,0.4,0.6', /row 3/i],
    ];
    for (const [fileName, text, message] of cases) {
      const path = join(dir, fileName);
      writeFileSync(path, text);
      await choose(page, path);
      const phase = await page.getAttribute('#train', 'data-phase');
      const shown = phase === 'failed'
        ? await page.textContent('#train-error')
        : (await train(page), await page.textContent('#train-error, #train-problem'));
      assert.match(shown, message, `${fileName}: ${shown}`);
      assert.ok(shown.includes(fileName) || !/row/.test(shown), `${fileName}: the message names the file: ${shown}`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
});
