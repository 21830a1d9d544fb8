// Faults inside the app: a panic in the page's wasm or in a worker. The page says what failed,
// the worker is restarted, and the user's work survives (in the address, for a reload).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, serve, settled, showPage, shownFormulation } from './harness.mjs';

describe('panics', () => {
  let site, browser, dir;
  before(async () => {
    site = await serve();
    browser = await launch({ webgpu: false });
    dir = mkdtempSync(join(tmpdir(), 'mixlab-faults-'));
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Edit the formulation: the first material's amount to 5 %. */
  async function edit(page) {
    const row = await page.$('#formulation tr.material input[type=number]');
    await row.fill('5');
    await row.press('Enter');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('f')?.includes(':5'));
  }

  test('a panic in the scoring worker is reported, the worker restarts, and scoring works again', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
    await edit(page);
    const had = await shownFormulation(page);
    await showPage(page, 'score');
    await page.evaluate(() => window.wasmBindings.mixlab_fault('worker'));
    await page.waitForSelector('#batch-error', { timeout: 30_000 });
    const message = await page.textContent('#batch-error');
    assert.match(message, /scoring worker stopped on an internal error \(.*mixlab_fault\("worker"\).*\)\. It has been restarted/s);
    // A new worker takes the model, and a file is scored.
    await page.waitForFunction(() => document.querySelector('#batch').dataset.worker, null, { timeout: 120_000 });
    const good = join(dir, 'good.csv');
    writeFileSync(good, 'id,Water,Plantacare 818,Arlypon TT\na,85,10,5\n');
    await page.setInputFiles('#batch-file', good);
    await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
    assert.deepEqual(await shownFormulation(page), had, 'the formulation is untouched');
    assert.equal(await page.$('#crash'), null, 'the page itself did not stop');
    // The worker's panic is logged (console_error_panic_hook); nothing else went wrong.
    assert.ok(errors.every((e) => e.includes('mixlab_fault')), errors.join('\n'));
    await page.close();
  });

  test('a panic in the page shows what failed over the app, and Reload brings the work back', async () => {
    const { page } = await open(browser.context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    await edit(page);
    const had = await shownFormulation(page);
    await page.evaluate(() => { try { window.wasmBindings.mixlab_fault('main'); } catch (e) { /* the instance aborts */ } });
    await page.waitForSelector('#crash[role=alert]', { timeout: 10_000 });
    assert.match(await page.textContent('#crash-message'), /mixlab_fault\("main"\)/);
    const href = await page.$eval('#crash-reload', (a) => a.href);
    assert.equal(href, await page.evaluate(() => location.href));
    await Promise.all([page.waitForNavigation(), page.click('#crash-reload')]);
    assert.equal(await settled(page), 'ready');
    assert.equal(await page.$('#crash'), null);
    // Back from the address, where amounts are kept to 1e-6 %.
    const back = await shownFormulation(page);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(had).sort());
    for (const [m, v] of Object.entries(had)) assert.ok(Math.abs(back[m] - v) < 1e-7, `${m}: ${back[m]} vs ${v}`);
    assert.equal(back['Plantacare 818'], 0.05, 'the edit is back');
    await page.close();
  });

  test('a panic in the projection worker is reported, and the next projection runs in a new one', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?model=models/steels/&backend=cpu#x=1&proj=tsne.2.p4.lr0.it1000.s2`);
    assert.equal(await settled(page), 'ready');
    await page.waitForFunction(() => document.getElementById('explorer')?.dataset.origin === 'computed', null, { timeout: 60_000 });
    const shown = await page.evaluate(() => Array.from(document.getElementById('explorer-plot').data[0].x));
    await page.evaluate(() => window.wasmBindings.mixlab_fault('explorer'));
    await page.waitForSelector('#explorer-error', { timeout: 30_000 });
    assert.match(await page.textContent('#explorer-error'), /projection worker stopped on an internal error \(.*mixlab_fault\("worker"\)/s);
    assert.deepEqual(await page.evaluate(() => Array.from(document.getElementById('explorer-plot').data[0].x)), shown, 'the picture stays');
    await page.fill('#explorer-seed', '3');
    await page.dispatchEvent('#explorer-seed', 'change');
    await page.waitForFunction(() => {
      const e = document.getElementById('explorer');
      return e.dataset.spec.endsWith('.s3') && e.dataset.job === 'idle' && e.dataset.origin === 'computed';
    }, null, { timeout: 60_000 });
    assert.equal(await page.$('#crash'), null);
    assert.ok(errors.every((e) => e.includes('mixlab_fault')), errors.join('\n'));
    await page.close();
  });
});
