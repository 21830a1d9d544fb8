// The hardening corpus (tests/corpus/cases.json: bad CSVs, broken bundles, tampered links),
// each with the message it must give, run against the CLI and against the app in headless
// Chromium. In the app: the message shows in the page, the app stays usable, and what the user
// had (model, formulation, predictions) is still there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, serve, settled, showPage, shownFormulation, shownPredictions, ROOT } from './harness.mjs';
import { makeBundle } from '../corpus/bundles.mjs';

const CORPUS = join(ROOT, 'tests/corpus');
const CASES = JSON.parse(readFileSync(join(CORPUS, 'cases.json'), 'utf8'));
const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/debug/mixlab');
const model = (c) => join(ROOT, 'public/models', c.model);

/** The case's input on disk: a corpus file, a generated file, or a generated bundle folder. */
function input(c, dir) {
  if (c.kind === 'bundle') return makeBundle(c.bundle, model(c), dir);
  if (c.generate) {
    const path = join(dir, `${c.id}.csv`);
    const { head, repeat, times, tail } = c.generate;
    writeFileSync(path, Buffer.concat([Buffer.from(head), Buffer.alloc(times, repeat), Buffer.from(tail)]));
    return path;
  }
  return join(CORPUS, c.file);
}

/** Hand `files` to the file input `selector`; the notice that follows (the last one dismissed first). */
async function noticeAfter(page, selector, files) {
  if (await page.$('#notice .dismiss')) await page.click('#notice .dismiss');
  await page.waitForSelector('#notice', { state: 'detached' });
  await page.setInputFiles(selector, files);
  await page.waitForSelector('#notice', { timeout: 30_000 });
  return page.textContent('#notice');
}

function contains(text, c) {
  for (const e of c.expect) assert.ok(text.includes(e), `${c.id}: ${JSON.stringify(e)} not in:\n${text.slice(0, 2000)}`);
}

describe('hardening corpus', () => {
  let dir;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mixlab-corpus-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('has at least 50 cases, each with a message to give', () => {
    assert.ok(CASES.length >= 50, `${CASES.length} cases`);
    assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length, 'unique ids');
    for (const c of CASES) assert.ok(c.expect.length > 0 && c.expect.every((e) => e.length > 3), c.id);
  });

  test('the CLI refuses each with its message and no panic', () => {
    // Spreadsheet exports (kind "export") are read or refused in importer.test.mjs, bad training
    // files (kind "train") in train.test.mjs.
    for (const c of CASES.filter((x) => x.kind !== 'export' && x.kind !== 'train')) {
      const args = {
        csv: () => ['score', '--bundle', model(c), '--data', input(c, dir)],
        bundle: () => ['predict', '--bundle', input(c, dir)],
        link: () => ['link', '--bundle', model(c), c.url],
      }[c.kind]();
      const r = spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.notEqual(r.status, 0, `${c.id}: exit status`);
      assert.ok(!r.stderr.includes('panicked'), `${c.id}: ${r.stderr}`);
      contains(r.stderr, c);
    }
  });

  test('training and evaluation read the same files with the same messages (one reader)', () => {
    const cases = CASES.filter((c) => (c.kind === 'csv' || (c.kind === 'export' && c.outcome === 'refuse')) && c.train);
    assert.ok(cases.length >= 30, `${cases.length} cases marked for training`);
    for (const c of cases) {
      const path = input(c, dir);
      // The target is the header's last column, so that row-level problems are reached.
      const head = readFileSync(path).subarray(0, 1 << 16).toString('utf8').split(/\r?\n/)[0];
      const cells = head.replace(/^\uFEFF/, '').replace(/\0/g, '').split(head.split(';').length > head.split(',').length ? ';' : ',');
      const target = cells.at(-1).trim().replace(/^"|"$/g, '') || 'y';
      for (const command of ['train', 'evaluate']) {
        const r = spawnSync(CLI, [command, '--data', path, '--targets', target, '--steps', '1', '--out', join(dir, `${c.id}-${command}`)],
          { encoding: 'utf8', maxBuffer: 1 << 26 });
        assert.notEqual(r.status, 0, `${c.id}: ${command} exit status`);
        assert.ok(!r.stderr.includes('panicked'), `${c.id}: ${r.stderr}`);
        contains(r.stderr, c);
      }
    }
  });

  describe('in the app', () => {
    let site, browser;
    before(async () => {
      site = await serve();
      browser = await launch({ webgpu: false });
    });
    after(async () => { await browser?.close(); await site?.close(); });

    /** What the user has: the model's name, the formulation and its predictions. */
    const work = async (page) => ({
      model: await page.$eval('#model-name', (e) => e.textContent).catch(() => null),
      formulation: await shownFormulation(page),
      predictions: await shownPredictions(page),
    });

    test('bad CSVs: the message (with row and column) in the page; the work is intact', async () => {
      const { page, errors } = await open(browser.context, `${site.url}?model=models/shampoo/&backend=cpu`);
      assert.equal(await settled(page), 'ready');
      await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
      await showPage(page, 'score');
      const had = await work(page);
      for (const c of CASES.filter((x) => x.kind === 'csv')) {
        const path = input(c, dir);
        const name = path.split('/').pop();
        await page.setInputFiles('#batch-file', path);
        await page.waitForFunction((n) => {
          const b = document.getElementById('batch');
          return b.dataset.file === n && ['failed', 'report'].includes(b.dataset.phase);
        }, name, { timeout: 120_000 });
        contains(await page.$eval('#batch', (b) => b.innerText), c);
      }
      assert.deepEqual(await work(page), had);
      // Still usable: a good file is scored.
      const good = join(dir, 'good.csv');
      writeFileSync(good, 'id,Water,Plantacare 818,Arlypon TT\na,85,10,5\n');
      await page.setInputFiles('#batch-file', good);
      await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('importing saved formulations checks the encoding the same way', async () => {
      const { page, errors } = await open(browser.context, `${site.url}?model=models/shampoo/&backend=cpu`);
      assert.equal(await settled(page), 'ready');
      const had = await work(page);
      for (const c of CASES.filter((x) => ['csv-cp949-header', 'export-excel-97', 'csv-xlsx'].includes(x.id))) {
        const text = await noticeAfter(page, '#import-csv', input(c, dir));
        assert.match(text, /^Nothing was imported/);
        contains(text, c);
      }
      assert.deepEqual(await work(page), had);
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('broken bundles opened from files: the message; the model in use stays', async () => {
      const { page, errors } = await open(browser.context, `${site.url}?model=models/steels/&backend=cpu`);
      assert.equal(await settled(page), 'ready');
      const had = await work(page);
      for (const c of CASES.filter((x) => x.kind === 'bundle')) {
        const folder = input(c, dir);
        contains(await noticeAfter(page, '#open-bundle', [join(folder, 'manifest.json'), join(folder, 'weights.safetensors')]), c);
        assert.deepEqual(await work(page), had, c.id);
      }
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('tampered links: the message, and a working app with the default view', async () => {
      for (const c of CASES.filter((x) => x.kind === 'link')) {
        const own = c.url.startsWith('?model=');
        const base = own ? c.url.replace(/^\?/, '?backend=cpu&') : `?model=models/${c.model}/&backend=cpu`;
        const url = own ? base : c.url.startsWith('#') ? `${base}${c.url}` : `${base}&${c.url.slice(1)}`;
        const { page, errors } = await open(browser.context, `${site.url}${url}`);
        assert.equal(await settled(page), 'ready', c.id);
        await page.waitForSelector('#notice, #explorer-message', { timeout: 30_000 });
        const text = await page.$$eval('#notice, #explorer-message', (els) => els.map((e) => e.textContent).join('\n'));
        contains(text, c);
        assert.ok(Object.keys(await shownPredictions(page)).length > 0, `${c.id}: predictions shown`);
        assert.deepEqual(errors, [], c.id);
        await page.close();
      }
    });
  });
});
