// After the first visit the app works with the network cut: its service worker serves the
// build, the default model and plotly from its cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, serve, settled, showPage, shownPredictions } from './harness.mjs';

let site, browser;
before(async () => { site = await serve(); browser = await launch({ webgpu: false }); });
after(async () => { await browser?.close(); await site?.close(); });

test('works offline after the first load: predictions, the explorer, another model seen before', async () => {
  const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
  assert.equal(await settled(page), 'ready');
  const online = await shownPredictions(page);
  // Open another model once (it is kept for later), then wait for the worker to control the page.
  await page.selectOption('#model-picker', 'models/steels/');
  await page.waitForFunction(() => document.getElementById('model-name')?.textContent.startsWith('Steels'), null, { timeout: 60_000 });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await settled(page);
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the service worker controls the page');

  await browser.context.setOffline(true);
  try {
    // The network is really cut: a file of this site that was never fetched cannot be had.
    const seen = errors.length;
    assert.equal(await page.evaluate(() => fetch(`./never-${Date.now()}.txt`).then(() => 'reached', () => 'offline')), 'offline');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(errors.splice(seen).every((e) => e.includes('net::ERR_FAILED')), 'only that fetch failed');
    await page.goto(`${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready', 'the app loads with the network cut');
    assert.deepEqual(await shownPredictions(page), online);
    // The explorer (full plotly) and a model opened before.
    await showPage(page, 'explore');
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    assert.equal(await page.evaluate(() => document.getElementById('explorer-plot').data[0].x.length), 19);
    await page.goto(`${site.url}?backend=cpu&model=models/steels/`);
    assert.equal(await settled(page), 'ready');
    assert.match(await page.textContent('#model-name'), /^Steels/);
    assert.equal(await page.$('#notice.error'), null);
  } finally {
    await browser.context.setOffline(false);
  }
  assert.deepEqual(errors, []);
  await page.close();
});
