// Batch scoring of an uploaded CSV, in headless Chromium against the built app: the worker's
// results equal `mixlab score` on the same file, the validation report names rows and columns,
// cancel terminates the worker, the download is the scored CSV, and nothing goes over the network.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, analysed, launch, open, serve, settled, showPage } from './harness.mjs';

const SHAMPOO = join(ROOT, 'public/models/shampoo');
const EXAMPLE = join(ROOT, 'public/examples/shampoo-batch.csv');
const ERRORS = join(ROOT, 'tests/browser/fixtures/batch-errors.csv');

/** `mixlab score` on a file: { text, stderr }. */
function cliScore(bundle, data, extra = []) {
  const cli = process.env.MIXLAB_CLI;
  if (!cli) throw new Error('MIXLAB_CLI must point at the mixlab binary (scripts/test.sh sets it)');
  const out = execFileSync(cli, ['score', '--bundle', bundle, '--data', data, ...extra], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28,
  });
  return out;
}

/** A minimal CSV parser (quotes, doubled quotes) for comparing outputs. */
function parseCsv(text, delimiter = ',') {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) { row.push(cell); cell = ''; }
    else if (c === '\n') { row.push(cell.replace(/\r$/, '')); rows.push(row); row = []; cell = ''; }
    else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** Wait until the page's worker has the model loaded. */
async function workerReady(page) {
  await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
}

async function upload(page, path) {
  await page.setInputFiles('#batch-file', path);
}

async function results(page) {
  await page.waitForSelector('#batch-summary, #batch-error', { timeout: 300_000 });
  const err = await page.$('#batch-error');
  assert.equal(err, null, err && await err.textContent());
  return page.$eval('#batch-summary', (e) => ({ ...e.dataset }));
}

async function download(page) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#batch-download')]);
  return readFileSync(await file.path(), 'utf8');
}

/** The app's scored CSV equals the CLI's: same cells, predictions within 1e-4 relative. */
function assertSameScores(got, want) {
  const [g, w] = [parseCsv(got), parseCsv(want)];
  assert.deepEqual(g[0], w[0], 'header');
  assert.equal(g.length, w.length, 'rows');
  const numeric = w[0].map((h) => /_(predicted|spread)$/.test(h));
  let compared = 0;
  for (let r = 1; r < w.length; r++) {
    for (let c = 0; c < w[0].length; c++) {
      if (numeric[c] && w[r][c] !== '') {
        const [a, b] = [Number(g[r][c]), Number(w[r][c])];
        assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(b), 1e-3), `row ${r + 1} ${w[0][c]}: app ${a} vs cli ${b}`);
        compared++;
      } else {
        assert.equal(g[r][c], w[r][c], `row ${r + 1}, ${w[0][c]}`);
      }
    }
  }
  return compared;
}

for (const webgpu of [true, false]) {
  describe(`batch scoring ${webgpu ? 'on WebGPU (SwiftShader)' : 'on the CPU'}`, () => {
    let browser, site;
    before(async () => { browser = await launch({ webgpu }); site = await serve(); });
    after(async () => { await browser.close(); await site.close(); });

    test('the example CSV scores like `mixlab score`: every row, the download, sorting, plots', async () => {
      const { page, errors } = await open(browser.context, webgpu ? `${site.url}?backend=webgpu` : site.url);
      assert.equal(await settled(page), 'ready');
      await workerReady(page);
    await showPage(page, 'score');
      assert.equal(await page.getAttribute('#batch', 'data-worker'), webgpu ? 'webgpu' : 'cpu');
      await upload(page, EXAMPLE);
      const summary = await results(page);
      assert.equal(summary.scored, '822');
      assert.equal(summary.skipped, '0');
      // A clean file is scored at once: the report says so and asks nothing.
      assert.equal(await page.getAttribute('#batch-report', 'data-needs-decision'), 'false');

      const cli = cliScore(SHAMPOO, EXAMPLE);
      const compared = assertSameScores(await download(page), cli);
      assert.equal(compared, 822 * 6, 'three targets, value and spread, every row');

      // The table shows the same numbers, pages, and sorts by a prediction.
      const cliRows = parseCsv(cli);
      const col = cliRows[0].indexOf('viscosity_10_per_s_cp_predicted');
      const visc = cliRows.slice(1).map((r) => Number(r[col]));
      assert.equal(await page.$$eval('#batch-table tbody tr', (r) => r.length), 50);
      const firstShown = Number(await page.getAttribute('#batch-table tbody tr:first-child td[data-target="viscosity_10_per_s_cp"]', 'data-value'));
      assert.ok(Math.abs(firstShown - visc[0]) <= 1e-4 * visc[0]);
      const sortButton = '#batch-table button.sort[data-target="viscosity_10_per_s_cp"]';
      await page.click(sortButton);
      const lowest = Number(await page.getAttribute('#batch-table tbody tr:first-child td[data-target="viscosity_10_per_s_cp"]', 'data-value'));
      assert.ok(Math.abs(lowest - Math.min(...visc)) <= 1e-4 * Math.min(...visc), `${lowest} vs ${Math.min(...visc)}`);
      await page.click(sortButton);
      const highest = Number(await page.getAttribute('#batch-table tbody tr:first-child td[data-target="viscosity_10_per_s_cp"]', 'data-value'));
      assert.ok(Math.abs(highest - Math.max(...visc)) <= 1e-4 * Math.max(...visc));
      await page.click('#batch-next');
      assert.match(await page.textContent('#batch-page'), /^51–100 of 822$/);

      // Histograms of every target; parity plots and metrics where the file has true values.
      for (const t of [0, 1, 2]) await page.waitForSelector(`#batch-hist-${t}[data-drawn=true]`);
      const truthCol = cliRows[0].indexOf('viscosity_10_per_s_cp');
      const withTruth = cliRows.slice(1).filter((r) => r[truthCol] !== '').length;
      await page.waitForSelector('#batch-parity-2[data-drawn=true]');
      assert.equal(Number(await page.getAttribute('#batch-parity-2', 'data-points')), withTruth);
      const pairs = cliRows.slice(1).filter((r) => r[truthCol] !== '').map((r) => [Number(r[col]), Number(r[truthCol])]);
      const mae = pairs.reduce((s, [p, y]) => s + Math.abs(p - y), 0) / pairs.length;
      const shownMae = Number(await page.getAttribute('.batch-metrics[data-target="viscosity_10_per_s_cp"]', 'data-mae'));
      assert.ok(Math.abs(shownMae - mae) <= 1e-4 * mae, `MAE ${shownMae} vs ${mae}`);
      const auc = Number(await page.getAttribute('.batch-metrics[data-target="stable"]', 'data-auc'));
      assert.ok(auc > 0.5 && auc <= 1, `stable ROC-AUC ${auc}`);
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
}

describe('batch scoring: report, cancel, privacy', () => {
  let browser, site, dir;
  before(async () => {
    browser = await launch({ webgpu: true });
    site = await serve();
    dir = mkdtempSync(join(tmpdir(), 'mixlab-batch-'));
  });
  after(async () => { await browser.close(); await site.close(); rmSync(dir, { recursive: true, force: true }); });

  test('a file with every kind of problem gets a report with rows and columns; the choices decide', async () => {
    const { page, errors } = await open(browser.context, site.url);
    assert.equal(await settled(page), 'ready');
    await workerReady(page);
    await showPage(page, 'score');
    const before = await page.textContent('#predictions');
    // Dropped on the box (a real DataTransfer with the file, as from a file manager).
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'batch-errors.csv', { type: 'text/csv' }));
      document.querySelector('#batch-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, readFileSync(ERRORS, 'utf8'));
    // (The long-file test below drops its file on the page itself: it goes to scoring too.)
    await page.waitForSelector('#batch-report');
    assert.equal(await page.$('#notice'), null, 'not taken for saved formulations');
    const groups = await page.$$eval('#batch-report .issue-group', (gs) => Object.fromEntries(gs.map((g) => [
      g.dataset.kind,
      { count: Number(g.dataset.count), at: [...g.querySelectorAll('li[data-row]')].map((l) => [Number(l.dataset.row), Number(l.dataset.column)]) },
    ])));
    assert.deepEqual(groups, {
      unknown_material: { count: 1, at: [[4, 4]] },
      off_sum: { count: 1, at: [[5, 0]] },
      duplicate_id: { count: 1, at: [[8, 1]] },
      negative: { count: 1, at: [[6, 3]] },
      not_numeric: { count: 1, at: [[7, 2]] },
      zero_sum: { count: 1, at: [[10, 0]] },
      malformed: { count: 1, at: [[9, 0]] },
    });
    const unknown = await page.$eval('#batch-unknown li', (l) => ({ ...l.dataset }));
    assert.equal(unknown.name, 'Plantacare818x');
    assert.equal(unknown.suggestions.split('|')[0], 'Plantacare 818');
    assert.match(await page.textContent('#batch-carried'), /note/);
    assert.match(await page.textContent('#batch-overview'), /9 formulations \(wide, semicolon separated, decimal commas read\); 2 without any problem/);
    // Nothing is scored before the user decides.
    assert.equal(await page.$('#batch-summary'), null);

    await page.check('input[name=batch-unknown][value=skip]');
    await page.click('#batch-score');
    let summary = await results(page);
    assert.deepEqual([summary.scored, summary.skipped], ['4', '5']);
    const out = parseCsv(await download(page), ';');
    const status = Object.fromEntries(out.slice(1).map((r) => [`${r[0]}@${out.indexOf(r) + 1}`, r.at(-1)]));
    assert.equal(status['unknown@4'], 'skipped: has a material the model does not know');
    assert.match(status['negative@6'], /^skipped: negative amounts \(column 3\)/);
    assert.equal(status['offsum@5'], 'scored');
    // The other choice: the unknown material dropped and the row renormalised.
    await page.check('input[name=batch-unknown][value=drop]');
    await page.check('input[name=batch-off-sum][value=skip]');
    await page.click('#batch-score');
    await page.waitForFunction(() => document.querySelector('#batch-summary')?.dataset.skipped === '5'
      && document.querySelector('tr[data-id=unknown]'));
    summary = await results(page);
    assert.deepEqual([summary.scored, summary.skipped], ['4', '5']);
    assert.equal(await page.$('tr[data-id=offsum]'), null);
    // The editor kept its state throughout.
    assert.equal(await page.textContent('#predictions'), before);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a missing condition is offered its default and scored with the value given', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?model=models/concrete/`);
    assert.equal(await settled(page), 'ready');
    await workerReady(page);
    await showPage(page, 'score');
    const file = join(dir, 'no-age.csv');
    writeFileSync(file, 'id,cement,water,fine_aggregate,coarse_aggregate,total_mass_kg_per_m3\nA,300,180,800,1000,2280\nB,400,160,700,1100,2360\n');
    await upload(page, file);
    await page.waitForSelector('#batch-report [data-kind=missing_condition]');
    assert.ok(Number(await page.inputValue('#batch-fill-age_days')) > 0);
    await page.fill('#batch-fill-age_days', '28');
    await page.click('#batch-score');
    const summary = await results(page);
    assert.equal(summary.scored, '2');
    const want = parseCsv(cliScore(join(ROOT, 'public/models/concrete'), file, ['--fill', 'age_days=28', '--off-sum', 'normalise']));
    const got = parseCsv(await download(page));
    assertSameScores(got.map((r) => r.join(',')).join('\n') + '\n', want.map((r) => r.join(',')).join('\n') + '\n');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a long file (formulation_id, material, amount; rows in any order) scores like the CLI', async () => {
    const { page, errors } = await open(browser.context, site.url);
    assert.equal(await settled(page), 'ready');
    await workerReady(page);
    const [head, ...rows] = parseCsv(readFileSync(EXAMPLE, 'utf8')).slice(0, 41);
    const materials = head.slice(1, 20);
    const lines = [];
    for (const r of rows) materials.forEach((m, j) => { if (Number(r[j + 1]) > 0) lines.push([r[0], `"${m}"`, (100 * Number(r[j + 1])).toFixed(6), r[22]]); });
    lines.reverse(); // formulations' rows need not be together or in order
    const file = join(dir, 'long.csv');
    const text = `formulation_id,material,amount,viscosity_10_per_s_cp\r\n${lines.map((l) => l.join(',')).join('\r\n')}\r\n`;
    writeFileSync(file, text);
    // Dropped anywhere on the page: a CSV without the saved-formulations `role` column is scored.
    await page.evaluate((t) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t], 'long.csv', { type: 'text/csv' }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, text);
    const summary = await results(page);
    assert.equal(summary.scored, '40');
    assert.match(await page.textContent('#batch-overview'), /40 formulations \(long, comma separated\)/);
    assertSameScores(await download(page), cliScore(SHAMPOO, file));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('cancel terminates the worker; the page keeps working and scores the next file', async () => {
    const { page, errors } = await open(browser.context, site.url);
    assert.equal(await settled(page), 'ready');
    await workerReady(page);
    await showPage(page, 'score');
    // A file big enough to be cancelled mid-way: the example repeated 300 times (~250k rows).
    const example = readFileSync(EXAMPLE, 'utf8');
    const [head, ...body] = example.trimEnd().split('\n');
    const big = join(dir, 'big.csv');
    writeFileSync(big, [head, ...Array.from({ length: 300 }, (_, k) => body.map((l) => `${k}-${l}`)).flat()].join('\n') + '\n');
    const first = page.workers()[0];
    assert.ok(first, 'the scoring worker is running');
    const closed = new Promise((ok) => first.on('close', () => ok(true)));
    await upload(page, big);
    await page.waitForFunction(() => Number(document.querySelector('#batch-rows')?.dataset.rows) > 0, null, { timeout: 60_000 });
    await page.click('#batch-cancel');
    await page.waitForFunction(() => !document.querySelector('#batch-progress'));
    const timeout = new Promise((ok) => setTimeout(() => ok(false), 15_000));
    assert.ok(await Promise.race([closed, timeout]), 'the worker was terminated');
    assert.equal(await page.$('#batch-summary'), null);
    // A fresh worker takes the next file.
    await workerReady(page);
    await upload(page, EXAMPLE);
    assert.equal((await results(page)).scored, '822');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('no request leaves the page after the model has loaded', async () => {
    const { page, errors } = await open(browser.context, site.url);
    assert.equal(await settled(page), 'ready');
    await workerReady(page);
    await showPage(page, 'score');
    await analysed(page); // the editor's plots have loaded plotly.js
    const requests = [];
    const record = (r) => { if (!/^(blob|data):/.test(r.url())) requests.push(r.url()); };
    browser.context.on('request', record);
    await upload(page, EXAMPLE);
    await results(page);
    await page.waitForSelector('#batch-parity-2[data-drawn=true]');
    await download(page);
    browser.context.off('request', record);
    assert.deepEqual(requests, []);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
