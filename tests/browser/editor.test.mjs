// The live formulation editor (issue 4), driven with real pointer and keyboard events in
// headless Chromium and checked against the native core (`mixlab predict`).
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ROOT, analysed, assertClose, dragSlider, formulationText, launch, nativePrediction, nextPrediction, open,
  predictionSeq, serve, settled, shownFormulation, shownPredictions, switchBackend,
} from './harness.mjs';

const SHAMPOO = join(ROOT, 'public/models/shampoo');
const CONCRETE = join(ROOT, 'public/models/concrete');
const slider = (name) => `tr.material[data-material="${name}"] input.slider`;
const number = (name) => `tr.material[data-material="${name}"] input.number`;
const row = (name) => `tr.material[data-material="${name}"]`;
const sum = (f) => Object.values(f).reduce((a, b) => a + b, 0);

async function ready(page) {
  assert.equal(await settled(page), 'ready', await page.textContent('body'));
  await page.waitForSelector('#predictions tr[data-target]');
}

/** Type a value into a row's number box and commit it (Enter → change event). */
async function typeInto(page, selector, value) {
  const seq = await predictionSeq(page);
  await page.fill(selector, String(value));
  await page.press(selector, 'Enter');
  await nextPrediction(page, seq);
}

for (const webgpu of [true, false]) {
  describe(`editor (${webgpu ? 'WebGPU' : 'CPU'})`, () => {
    let browser, site;
    before(async () => { browser = await launch({ webgpu }); site = await serve(); });
    after(async () => { await browser.close(); await site.close(); });

    test('dragging a slider predicts while dragging, keeps 100 % via q.s., equals the native core', async () => {
      const { page, errors } = await open(browser.context, webgpu ? `${site.url}?backend=webgpu` : site.url);
      await ready(page);
      const before = await shownPredictions(page);
      const start = await shownFormulation(page);
      assert.ok(await page.$eval(row('Water'), (r) => r.classList.contains('qs')), 'water is q.s. by default');
      // Count the predictions painted during one drag: live, not only on release.
      await analysed(page);
      const seq0 = await predictionSeq(page);
      await dragSlider(page, slider('Plantacare 818'), 5, 12, 50);
      const painted = (await predictionSeq(page)) - seq0;
      assert.ok(painted >= 3, `only ${painted} predictions painted during the drag`);
      await nextPrediction(page, seq0);
      const after = await shownFormulation(page);
      assert.ok(Math.abs(sum(after) - 1) < 1e-9, `sum ${sum(after)}`);
      assert.ok(after['Plantacare 818'] < start['Plantacare 818'] - 0.03, JSON.stringify(after));
      // q.s. absorbed it all; the others did not move.
      const moved = start['Plantacare 818'] - after['Plantacare 818'];
      assert.ok(Math.abs(after.Water - (start.Water + moved)) < 1e-9);
      for (const m of ['Dehyquart A-CA', 'Luviquat Excellence', 'Arlypon TT']) assert.equal(after[m], start[m]);
      const now = await shownPredictions(page);
      assert.notDeepEqual(now, before, 'the prediction changed');
      const native = nativePrediction(SHAMPOO, { formulation: await formulationText(page) });
      assertClose(assert, now, native.predictions);
      assert.equal(Number(await page.getAttribute('#total', 'data-total')).toFixed(9), '1.000000000');
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('a shared link reopens the same formulation and prediction', async () => {
      const { page } = await open(browser.context, webgpu ? `${site.url}?backend=webgpu` : site.url);
      await ready(page);
      await typeInto(page, number('Arlypon TT'), 4.25);
      await page.check(`${row('Luviquat Excellence')} input.lock`);
      const link = await page.inputValue('#share-url');
      assert.match(link, /[?&]f=/);
      const form = await shownFormulation(page);
      const pred = await shownPredictions(page);
      const other = await open(browser.context, link);
      await ready(other.page);
      const reopened = await shownFormulation(other.page);
      assert.deepEqual(Object.keys(reopened), Object.keys(form));
      for (const [k, v] of Object.entries(form)) assert.ok(Math.abs(reopened[k] - v) < 1e-8, `${k}: ${reopened[k]} vs ${v}`);
      assert.ok(await other.page.$eval(row('Luviquat Excellence'), (r) => r.classList.contains('locked')));
      assertClose(assert, await shownPredictions(other.page), pred, 1e-5);
      assert.deepEqual(other.errors, []);
      await page.close(); await other.page.close();
    });
  });
}

describe('editor rules, warnings, keyboard and tools (WebGPU)', () => {
  let browser, site;
  before(async () => { browser = await launch({ webgpu: true }); site = await serve(); });
  after(async () => { await browser.close(); await site.close(); });

  test('a slider that stops says why; locks hold; without q.s. the others rescale', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    // With water q.s., Plantacare can take at most its own share + all the water.
    await typeInto(page, number('Plantacare 818'), 99);
    let f = await shownFormulation(page);
    assert.ok(Math.abs(f.Water) < 1e-12 && Math.abs(sum(f) - 1) < 1e-9, JSON.stringify(f));
    assert.match(await page.textContent(`${row('Plantacare 818')} td.limit`), /q\.s\. row is at 0 %/);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => Number(document.querySelector('tr.material[data-material="Water"]').dataset.fraction) > 0.7);
    // No q.s.: lock Arlypon TT, raise Plantacare: Arlypon holds, the rest shrink in proportion.
    await page.check('#no-qs');
    await page.check(`${row('Arlypon TT')} input.lock`);
    const before = await shownFormulation(page);
    await typeInto(page, number('Plantacare 818'), 20);
    f = await shownFormulation(page);
    assert.equal(f['Arlypon TT'], before['Arlypon TT']);
    assert.ok(Math.abs(f['Plantacare 818'] - 0.2) < 1e-12);
    assert.ok(Math.abs(sum(f) - 1) < 1e-9);
    const ratio = (x) => x.Water / x['Dehyquart A-CA'];
    assert.ok(Math.abs(ratio(f) - ratio(before)) < 1e-9, 'unlocked rows kept their proportions');
    // Locked rows over the top are impossible: the slider stops and says so.
    await typeInto(page, number('Arlypon TT'), 50);
    assert.match(await page.textContent(`${row('Arlypon TT')} td.limit`), /locked/);
    assert.equal((await shownFormulation(page))['Arlypon TT'], before['Arlypon TT']);
    // Out of the training domain: Plantacare at 20 % is above its maximum (14.45 %).
    assert.match(await page.textContent('#domain-warnings'), /Plantacare 818 at 20\.00 % is above its training maximum/);
    const native = nativePrediction(SHAMPOO, { formulation: await formulationText(page) });
    assertClose(assert, await shownPredictions(page), native.predictions);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('keyboard only: tab to a slider, arrows move it, every control has a label', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    const unlabelled = await page.$$eval('#formulation input, #conditions input, select, #add-material', (els) =>
      els.filter((e) => !(e.labels?.length || e.getAttribute('aria-label'))).map((e) => e.outerHTML));
    assert.deepEqual(unlabelled, []);
    // Tab from the backend switch until the first slider has focus.
    await page.focus('#backend-switch');
    for (let k = 0; k < 10 && !(await page.evaluate(() => document.activeElement?.classList.contains('slider'))); k++) {
      await page.keyboard.press('Tab');
    }
    const name = await page.evaluate(() => document.activeElement.closest('tr').dataset.material);
    assert.equal(name, 'Plantacare 818');
    const start = (await shownFormulation(page))[name];
    const seq = await predictionSeq(page);
    for (let k = 0; k < 5; k++) await page.keyboard.press('ArrowRight');
    await nextPrediction(page, seq);
    const f = await shownFormulation(page);
    assert.ok(Math.abs(f[name] - (Math.round(start * 10000) + 5) / 10000) < 1e-9, `${start} → ${f[name]}`);
    assert.ok(Math.abs(sum(f) - 1) < 1e-9);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('type-ahead adds by INCI name, remove and undo/redo', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    await page.fill('#add-material', 'betaine');
    const options = await page.$$eval('#add-suggestions li', (li) => li.map((x) => x.textContent));
    assert.deepEqual(options.sort(), ['Dehyton AB 30', 'Dehyton PK 45']);
    await page.press('#add-material', 'ArrowDown');
    await page.press('#add-material', 'Enter');
    const added = Object.keys(await shownFormulation(page)).at(-1);
    assert.ok(options.includes(added), added);
    assert.equal((await shownFormulation(page))[added], 0);
    await typeInto(page, number(added), 3);
    await page.click(`${row('Arlypon TT')} button.remove`);
    let f = await shownFormulation(page);
    assert.ok(!('Arlypon TT' in f) && Math.abs(sum(f) - 1) < 1e-9);
    await page.click('#undo');
    f = await shownFormulation(page);
    assert.ok('Arlypon TT' in f);
    await page.click('#redo');
    assert.ok(!('Arlypon TT' in (await shownFormulation(page))));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('response curve and sensitivities equal the native core', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    await page.focus(slider('Dehyquart A-CA'));
    await page.waitForFunction(() => document.querySelector('#response-curve')?.dataset.material === 'Dehyquart A-CA');
    await page.waitForFunction(() => document.querySelector('#sensitivity')?.dataset.sensitivity);
    // The full sweep, on request: from 0 to all the q.s. leaves.
    const f = await shownFormulation(page);
    await page.check('#curve-full');
    await page.waitForFunction((top) => {
      const xs = JSON.parse(document.querySelector('#response-curve')?.dataset.x ?? '[]');
      return xs.length === 100 && Math.abs(xs[99] - top) < 1e-6;
    }, 100 * (f['Dehyquart A-CA'] + f.Water));
    const xs = JSON.parse(await page.getAttribute('#response-curve', 'data-x'));
    const ys = JSON.parse(await page.getAttribute('#response-curve', 'data-y'));
    assert.equal(xs.length, 100);
    assert.ok(Math.abs(xs[99] / 100 - (f['Dehyquart A-CA'] + f.Water)) < 1e-9, 'sweeps up to what q.s. leaves');
    // Rebuild three swept formulations with the q.s. rule and predict them natively.
    const text = (x) => Object.entries(f).map(([m, v]) => {
      if (m === 'Dehyquart A-CA') return `${m}:${x.toFixed(8)}`;
      if (m === 'Water') return `${m}:${(100 * (v + f['Dehyquart A-CA']) - x).toFixed(8)}:q`;
      return `${m}:${(100 * v).toFixed(8)}`;
    }).join(';');
    for (const k of [0, 40, 99]) {
      const native = nativePrediction(SHAMPOO, { formulation: text(xs[k]) }).predictions;
      const got = Object.fromEntries(Object.entries(ys).map(([t, y]) => [t, t === 'stable' ? y[k] / 100 : y[k]]));
      assertClose(assert, got, native, 2e-4);
    }
    // Sensitivity of Arlypon TT: native(+1 %, water −1 %) − native(now).
    const sens = JSON.parse(await page.getAttribute('#sensitivity', 'data-sensitivity'));
    const base = nativePrediction(SHAMPOO, { formulation: await formulationText(page) }).predictions;
    const up = nativePrediction(SHAMPOO, { formulation: Object.entries(f).map(([m, v]) =>
      `${m}:${(100 * v + (m === 'Arlypon TT' ? 1 : m === 'Water' ? -1 : 0)).toFixed(8)}`).join(';') }).predictions;
    for (const [t, d] of Object.entries(sens['Arlypon TT'])) {
      const want = (up[t] - base[t]) * (t === 'stable' ? 100 : 1);
      assert.ok(Math.abs(d - want) <= 1e-3 * Math.abs(base[t] * (t === 'stable' ? 100 : 1)) + 1e-6, `${t}: ${d} vs ${want}`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the response curve spans the training range with a margin by default', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    const manifest = JSON.parse(readFileSync(join(SHAMPOO, 'manifest.json'), 'utf8'));
    for (const name of ['Dehyquart A-CA', 'Plantacare 818']) {
      await page.focus(slider(name));
      await page.waitForFunction((n) => document.querySelector('#response-curve')?.dataset.material === n, name);
      const xs = JSON.parse(await page.getAttribute('#response-curve', 'data-x'));
      const f = await shownFormulation(page);
      const info = manifest.materials.find((m) => m.name === name);
      const margin = Math.max(0.25 * (info.fraction_max - info.fraction_min), 0.01);
      const top = f[name] + f.Water; // what the q.s. row (Water) leaves
      const lo = Math.max(0, Math.min(f[name], info.fraction_min - margin));
      const hi = Math.min(top, Math.max(f[name], info.fraction_max + margin));
      assert.equal(xs.length, 100);
      assert.ok(Math.abs(xs[0] - 100 * lo) < 1e-6 && Math.abs(xs[99] - 100 * hi) < 1e-6, `${name}: ${xs[0]}–${xs[99]} vs ${100 * lo}–${100 * hi}`);
      assert.ok(100 * hi < 100 * top - 1, `${name}: the default stops well short of the full ${100 * top} %`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the backend switch gives the same numbers on the CPU', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=webgpu`);
    await ready(page);
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
    await typeInto(page, number('Plantacare 818'), 9);
    const gpu = await shownPredictions(page);
    assert.equal(await switchBackend(page, 'cpu'), 'cpu');
    assertClose(assert, await shownPredictions(page), gpu);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('examples, saving in the browser, CSV export and import with row/column errors', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    const manifest = JSON.parse(readFileSync(join(SHAMPOO, 'manifest.json'), 'utf8'));
    await page.selectOption('#examples', '2');
    const example = manifest.examples[2].formulation;
    const f = await shownFormulation(page);
    assert.deepEqual(Object.keys(f).sort(), Object.keys(example).sort());
    await page.fill('#save-name', 'trial A');
    await page.click('#save');
    assert.deepEqual(await page.$$eval('#saved li', (li) => li.map((x) => x.dataset.name)), ['trial A']);
    const stored = await page.evaluate(() => Object.keys(localStorage));
    assert.ok(stored.some((k) => k.startsWith('mixlab.saved.v1:')), stored);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^formulation_id,material,amount,role\n/);
    assert.equal(csv.trim().split('\n').length, 1 + Object.keys(example).length);
    // Import it back (a second copy is renamed) and a broken one (reported, nothing added).
    const dir = mkdtempSync(join(tmpdir(), 'mixlab-import-'));
    writeFileSync(join(dir, 'good.csv'), csv);
    writeFileSync(join(dir, 'bad.csv'), 'formulation_id,material,amount\nX,Water,80\nX,Unobtainium,20\n');
    await page.setInputFiles('#import-csv', join(dir, 'good.csv'));
    await page.waitForFunction(() => document.querySelectorAll('#saved li').length === 2);
    assert.deepEqual(await page.$$eval('#saved li', (li) => li.map((x) => x.dataset.name)), ['trial A', 'trial A (2)']);
    await page.setInputFiles('#import-csv', join(dir, 'bad.csv'));
    await page.waitForSelector('#notice.error');
    assert.match(await page.textContent('#notice'), /row 3, column 2 \("material"\): the model has no material "Unobtainium"/);
    assert.equal(await page.$$eval('#saved li', (li) => li.length), 2);
    // Open the first saved one after changing the formulation.
    await page.selectOption('#examples', 'default');
    await page.click('#saved li[data-name="trial A"] button.load');
    const reopened = await shownFormulation(page);
    for (const [k, v] of Object.entries(f)) assert.ok(Math.abs(reopened[k] - v) < 1e-7, k);
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('model picker, conditions, and opening a bundle from files', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    const seq = await predictionSeq(page);
    await page.selectOption('#model-picker', 'models/concrete/');
    await page.waitForFunction(() => /Concrete/.test(document.querySelector('#model-name')?.textContent));
    await nextPrediction(page, seq);
    assertClose(assert, await shownPredictions(page), nativePrediction(CONCRETE).predictions);
    assert.match(page.url(), /model=models%2Fconcrete%2F|model=models\/concrete\//);
    // Age is a log-scaled slider within its training range; typing a value outside warns.
    assert.equal(await page.getAttribute('#condition-0', 'max'), String(Math.log10(365)));
    const s2 = await predictionSeq(page);
    await page.fill('tr.condition[data-condition="age_days"] input.number', '400');
    await page.press('tr.condition[data-condition="age_days"] input.number', 'Enter');
    await nextPrediction(page, s2);
    assert.match(await page.textContent('#domain-warnings'), /age_days = 400 is outside its training range 1 to 365/);
    const cond = new URL(page.url()).searchParams.get('c');
    assertClose(assert, await shownPredictions(page),
      nativePrediction(CONCRETE, { formulation: await formulationText(page), conditions: cond }).predictions);
    // A broken bundle from files: error, and concrete stays.
    const dir = mkdtempSync(join(tmpdir(), 'mixlab-open-'));
    writeFileSync(join(dir, 'manifest.json'), '{ broken');
    writeFileSync(join(dir, 'weights.safetensors'), readFileSync(join(ROOT, 'public/models/steels/weights.safetensors')));
    await page.setInputFiles('#open-bundle', [join(dir, 'manifest.json'), join(dir, 'weights.safetensors')]);
    await page.waitForSelector('#notice.error');
    assert.match(await page.textContent('#notice'), /not usable.*not valid JSON.*still loaded/s);
    assert.match(await page.textContent('#model-name'), /Concrete/);
    // The real steels bundle from files.
    const steels = join(ROOT, 'public/models/steels');
    await page.setInputFiles('#open-bundle', [join(steels, 'manifest.json'), join(steels, 'weights.safetensors')]);
    await page.waitForFunction(() => /Steels/.test(document.querySelector('#model-name')?.textContent));
    await page.waitForSelector('#predictions tr[data-target="yield_strength_mpa"]');
    assertClose(assert, await shownPredictions(page), nativePrediction(steels).predictions);
    // The same weights with dose scales (fractions pooled divided by them): the page pools as
    // the CLI does, and the predictions move.
    const scaled = mkdtempSync(join(tmpdir(), 'mixlab-dose-'));
    const manifest = JSON.parse(readFileSync(join(steels, 'manifest.json'), 'utf8'));
    manifest.name = 'Steels, dose-scaled';
    manifest.materials.forEach((m, i) => { m.dose_scale = 0.02 + 0.01 * i; });
    writeFileSync(join(scaled, 'manifest.json'), JSON.stringify(manifest));
    writeFileSync(join(scaled, 'weights.safetensors'), readFileSync(join(steels, 'weights.safetensors')));
    const plain = await shownPredictions(page);
    await page.setInputFiles('#open-bundle', [join(scaled, 'manifest.json'), join(scaled, 'weights.safetensors')]);
    await page.waitForFunction(() => /dose-scaled/.test(document.querySelector('#model-name')?.textContent));
    await page.waitForSelector('#predictions tr[data-target="yield_strength_mpa"]');
    const shown = await shownPredictions(page);
    assertClose(assert, shown, nativePrediction(scaled).predictions);
    assert.notDeepEqual(shown, plain);
    rmSync(scaled, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('dropping a bundle on the page opens it', async () => {
    const { page, errors } = await open(browser.context, site.url);
    await ready(page);
    // Real files in a real DataTransfer, dropped on the page (as from a file manager).
    await page.evaluate(async () => {
      const file = async (path, name) => new File([await (await fetch(path)).arrayBuffer()], name);
      const dt = new DataTransfer();
      dt.items.add(await file('models/glass-tg/manifest.json', 'manifest.json'));
      dt.items.add(await file('models/glass-tg/weights.safetensors', 'weights.safetensors'));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => /Tg/.test(document.querySelector('#model-name')?.textContent));
    await page.waitForSelector('#predictions tr[data-target="tg_c"]');
    assertClose(assert, await shownPredictions(page), nativePrediction(join(ROOT, 'public/models/glass-tg')).predictions);
    assert.match(await page.textContent('#notice'), /from your computer/);
    assert.doesNotMatch(page.url(), /model=/, 'a local bundle is not put in the link');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a tampered link says what is wrong and opens the default', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?f=${encodeURIComponent('Water:50;Kryptonite:50')}`);
    await ready(page);
    assert.match(await page.textContent('#notice'), /the model has no material "Kryptonite".*default formulation/);
    assertClose(assert, await shownPredictions(page), nativePrediction(SHAMPOO).predictions);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
