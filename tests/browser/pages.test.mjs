// One page per task (Predict, Design, Score a file, Explore materials, Model): the tabs, the page in the
// address, links made before pages existed, what the pages share, and a screenshot of each.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, launch, open, serve, settled, showPage, shownFormulation } from './harness.mjs';

const PAGES = ['predict', 'design', 'score', 'explore', 'train', 'model'];
// Screenshots for a person to look at, beside the test build (dist-test-screenshots/).
const SHOTS = process.env.MIXLAB_SCREENSHOTS ?? join(ROOT, 'dist-test-screenshots');

/** The pages shown (not hidden), by key. */
const shown = (page) => page.$$eval('.page', (ps) => ps.filter((p) => !p.hidden).map((p) => p.id.replace('page-', '')));

describe('pages', () => {
  let browser, site;
  before(async () => { browser = await launch({ webgpu: false }); site = await serve(); });
  after(async () => { await browser.close(); await site.close(); });

  test('a tab per page; one page shown at a time, in the address, kept by a reload', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    assert.deepEqual(await shown(page), ['predict']);
    assert.deepEqual(await page.$$eval('#pages button', (b) => b.map((x) => x.id)), PAGES.map((p) => `nav-${p}`));
    assert.equal(await page.getAttribute('#nav-predict', 'aria-current'), 'page');
    for (const name of ['design', 'score', 'explore', 'train', 'model', 'predict']) {
      await showPage(page, name);
      assert.deepEqual(await shown(page), [name]);
      assert.equal(await page.getAttribute(`#nav-${name}`, 'aria-current'), 'page');
      assert.equal(await page.evaluate(() => new URLSearchParams(location.search).get('page')), name === 'predict' ? null : name);
      // What another page holds is out of sight and out of reach.
      for (const other of PAGES.filter((p) => p !== name)) {
        assert.equal(await page.isVisible(`#page-${other}`), false, `${other} hidden on ${name}`);
      }
    }
    await showPage(page, 'score');
    await page.reload();
    assert.equal(await settled(page), 'ready');
    assert.deepEqual(await shown(page), ['score']);
    assert.ok(await page.isVisible('#batch-drop'));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('links made before pages open the same view: ?f=…&c=… on Predict, #view on Explore', async () => {
    const f = 'cement:18;water:10;fine_aggregate:32;coarse_aggregate:40:q';
    const { page, errors } = await open(browser.context, `${site.url}?model=models/concrete/&backend=cpu&f=${encodeURIComponent(f)}&c=age_days:7`);
    assert.equal(await settled(page), 'ready');
    assert.deepEqual(await shown(page), ['predict']);
    const form = await shownFormulation(page);
    assert.ok(Math.abs(form.cement - 0.18) < 1e-12 && Math.abs(form.coarse_aggregate - 0.4) < 1e-12, JSON.stringify(form));
    await page.goto(`${site.url}?model=models/steels/&backend=cpu#x=1&proj=pca.2&sel=0-2`);
    assert.equal(await settled(page), 'ready');
    assert.deepEqual(await shown(page), ['explore']);
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    assert.deepEqual(await page.evaluate(() => document.getElementById('explorer-plot').data[0].selectedpoints), [0, 1, 2]);
    // A page the app does not have: said, and Predict shown.
    await page.goto(`${site.url}?backend=cpu&page=formulas`);
    assert.equal(await settled(page), 'ready');
    assert.deepEqual(await shown(page), ['predict']);
    assert.match(await page.textContent('#notice'), /page "formulas" is not one of Mixlab's/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the model, the backend and the formulation are shared by every page', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    const row = await page.$('#formulation tr.material input[type=number]');
    await row.fill('5');
    await row.press('Enter');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('f')?.includes(':5'));
    const edited = await shownFormulation(page);
    // The explorer's sensitivity colouring answers the formulation edited on Predict.
    await showPage(page, 'explore');
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    // Another model picked from the Explore page is the model of every page.
    await page.selectOption('#model-picker', 'models/concrete/');
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent.includes('Concrete'), null, { timeout: 60_000 });
    await page.waitForFunction(() => document.getElementById('explorer')?.dataset.materials === '7' || document.getElementById('explorer-plot')?.data?.[0]?.x?.length === 7, null, { timeout: 60_000 });
    await showPage(page, 'predict');
    const concrete = await shownFormulation(page);
    assert.ok('cement' in concrete && !(Object.keys(edited)[0] in concrete), JSON.stringify(concrete));
    await showPage(page, 'model');
    assert.match(await page.textContent('#model-card'), /Concrete/);
    // Metrics read by their target's label and unit, not the manifest's key.
    assert.match(await page.textContent('#model-card'), /Compressive strength: validation MAE \(MPa\)/);
    assert.equal(await page.textContent('#diagnostics dd'), 'CPU (WebAssembly)');
    assert.ok(Number(await page.getAttribute('#first-prediction', 'data-ms')) > 0);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a screenshot of each page, each showing its own content', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
    await page.setViewportSize({ width: 1400, height: 1000 });
    assert.equal(await settled(page), 'ready');
    await page.waitForFunction(() => document.querySelector('#sensitivity')?.dataset.sensitivity, null, { timeout: 60_000 });
    const own = { predict: '#predictions', design: '#design-goals tr[data-target]', score: '#batch', explore: '#explorer[data-draws]', train: '#train-section', model: '#model-card' };
    for (const name of PAGES) {
      await showPage(page, name);
      await page.waitForSelector(own[name], { timeout: 60_000 });
      if (name === 'design') {
        // The shampoo example, run: the screenshot shows ranked recipes with their goals' labels.
        await page.click('#design-example');
        await page.waitForFunction(() => document.querySelector('#design-json')?.value.includes('surfactant'));
        await page.click('#design-run');
        await page.waitForSelector('#design[data-phase=done] #design-results tr[data-rank]', { timeout: 60_000 });
        assert.match(await page.textContent('#design-results thead'), /Viscosity at 10 s⁻¹/);
      }
      if (name === 'score') {
        await page.click('#batch-example');
        await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
        // Targets read by their labels; the columns keep their names in the data.
        assert.match(await page.textContent('#batch-overview'), /true values of Stable, Turbidity, Viscosity at 10 s⁻¹ found/);
        assert.match(await page.textContent('.batch-metrics[data-target=viscosity_10_per_s_cp] dt'), /^Viscosity at 10 s⁻¹ against the file's values/);
      }
      if (name === 'train') {
        // The shampoo data, trained briefly: the screenshot shows the roles, curve and codes.
        await page.setInputFiles('#train-file', join(ROOT, 'data/shampoo/data.csv'));
        await page.waitForSelector('#train-file-summary');
        await page.uncheck('#train-auto'); // on by default for a file this small; one training is enough here
        await page.fill('#train-steps', '300');
        await page.dispatchEvent('#train-steps', 'change');
        await page.click('#train-run');
        await page.waitForSelector('#train[data-phase=done] #train-result', { timeout: 120_000 });
      }
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      // The page's own content is in view, the others' is not.
      for (const [other, selector] of Object.entries(own)) {
        assert.equal(await page.isVisible(selector), other === name, `${selector} on ${name}`);
      }
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
});
