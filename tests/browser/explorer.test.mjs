// The embedding explorer against the built app in headless Chromium: projections drawn from the
// bundle or computed in the worker (= `mixlab project` with the same spec and seed), nearest
// materials (= `mixlab neighbours`), a shared link that reopens the same picture (the plot's data
// and layout compared, not pixels), tampered links, progress and cancel of the worker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, serve, settled, showPage, shownFormulation, nativePrediction, ROOT } from './harness.mjs';

const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/debug/mixlab');
const cli = (...args) => execFileSync(CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The main plot's points and layout, as plotly holds them. */
async function plotState(page, id = 'explorer-plot') {
  return page.evaluate((id) => {
    const gd = document.getElementById(id);
    const t = gd.data[0];
    const l = gd.layout;
    return {
      type: t.type, x: Array.from(t.x), y: Array.from(t.y), z: t.z ? Array.from(t.z) : null,
      color: Array.isArray(t.marker.color) ? Array.from(t.marker.color) : t.marker.color,
      size: t.marker.size, selected: t.selectedpoints ? Array.from(t.selectedpoints) : null,
      traces: gd.data.length,
      xrange: l.xaxis?.range ? Array.from(l.xaxis.range) : null,
      yrange: l.yaxis?.range ? Array.from(l.yaxis.range) : null,
      camera: l.scene?.camera ?? null,
      spec: document.getElementById('explorer').dataset.spec,
      origin: document.getElementById('explorer').dataset.origin,
    };
  }, id);
}

async function openExplorer(page) {
  await showPage(page, 'explore');
  await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
}

/** Wait for the drawn projection to be `token` and the worker idle. */
async function drawn(page, token) {
  await page.waitForFunction((t) => {
    const e = document.getElementById('explorer');
    return e.dataset.spec === t && e.dataset.job === 'idle';
  }, token, { timeout: 120_000 });
}

/** A bundle's fingerprint as links carry it: the first 8 hex digits of SHA-256 of its codes. */
function fingerprint(dir) {
  const bytes = readFileSync(join(dir, 'weights.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const [start, end] = JSON.parse(bytes.subarray(8, 8 + n).toString()).codes.data_offsets;
  return createHash('sha256').update(bytes.subarray(8 + n + start, 8 + n + end)).digest('hex').slice(0, 8);
}

/** Material names of a plot's points, in order (from the hover text). */
async function pointNames(page, id) {
  return page.evaluate((id) => document.getElementById(id).data[0].text.map((t) => t.match(/<b>(.*?)<\/b>/)[1]), id);
}

/** A real lasso drag around the left half of a 2-D plot's area (WebGL: no synthetic events). */
async function lassoLeftHalf(page, id) {
  const box = await page.evaluate((id) => {
    const gd = document.getElementById(id);
    gd.scrollIntoView();
    const r = gd.getBoundingClientRect();
    const s = gd._fullLayout._size;
    return { x: r.left + s.l, y: r.top + s.t, w: s.w, h: s.h };
  }, id);
  await page.mouse.move(box.x + 2, box.y + 2);
  await page.mouse.down();
  for (const [fx, fy] of [[0.5, 0.01], [0.5, 0.99], [0.01, 0.99], [0.01, 0.02]]) {
    await page.mouse.move(box.x + fx * box.w, box.y + fy * box.h, { steps: 8 });
  }
  await page.mouse.up();
}

/** CSV of `mixlab project` → name → [x, y(, z)]. */
function parseCoords(csv) {
  const [, ...rows] = csv.trim().split('\n');
  return rows.map((r) => r.split(',').map(Number).slice(1));
}

describe('embedding explorer', () => {
  let site, browser, dir;
  before(async () => {
    // A model with 1,200 materials: large enough that t-SNE takes a while in the worker.
    dir = mkdtempSync(join(tmpdir(), 'mixlab-explorer-'));
    cli('synthetic', '--materials', '1200', '--groups', '12', '--recipes', '3000', '--per-recipe', '5,20',
      '--out', join(dir, 'syn.csv'), '--groups-out', join(dir, 'groups.csv'));
    cli('train', '--data', join(dir, 'syn.csv'), '--targets', 'property,property_2,property_3', '--code-dim', '16',
      '--steps', '300', '--snapshots', '8', '--members', '1', '--materials-info', join(dir, 'groups.csv'),
      '--out', join(dir, 'syn'));
    // A second model of the same materials, trained on the first 300 formulations in reverse
    // order: fewer materials, in another order (selections must follow names, not indices).
    const [head, ...rows] = readFileSync(join(dir, 'syn.csv'), 'utf8').trim().split('\n');
    const early = rows.filter((r) => Number(r.split(',')[0].slice(1)) < 300).reverse();
    writeFileSync(join(dir, 'syn-b.csv'), [head, ...early].join('\n') + '\n');
    cli('train', '--data', join(dir, 'syn-b.csv'), '--targets', 'property,property_2,property_3', '--code-dim', '16',
      '--steps', '100', '--snapshots', '4', '--members', '1', '--materials-info', join(dir, 'groups.csv'),
      '--name', 'Synthetic B', '--out', join(dir, 'syn-b'));
    site = await serve({ mounts: [['/syn/', join(dir, 'syn')], ['/syn-b/', join(dir, 'syn-b')]] });
    browser = await launch({ webgpu: false });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a stored projection shows at once; a computed one equals mixlab project with the same seed', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?model=models/steels/&backend=cpu`);
    assert.equal(await settled(page), 'ready');
    await openExplorer(page);
    let s = await plotState(page);
    assert.equal(s.type, 'scattergl');
    assert.equal(s.x.length, 14);
    assert.equal(s.origin, 'bundle');
    const pca = parseCoords(cli('project', '--bundle', join(ROOT, 'public/models/steels'), '--method', 'pca'));
    pca.forEach(([x, y], i) => { assert.ok(Math.abs(x - s.x[i]) < 1e-5 && Math.abs(y - s.y[i]) < 1e-5, `pca point ${i}`); });

    // UMAP in 3-D with a chosen seed, computed in the worker.
    await page.selectOption('#explorer-method', 'umap');
    await page.selectOption('#explorer-dims', '3');
    await page.fill('#explorer-seed', '7');
    await page.dispatchEvent('#explorer-seed', 'change');
    const token = await page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('proj'));
    assert.match(token, /^umap\.3\..*\.s7$/);
    await drawn(page, token);
    s = await plotState(page);
    assert.equal(s.type, 'scatter3d');
    const native = parseCoords(cli('project', '--bundle', join(ROOT, 'public/models/steels'), '--spec', token));
    native.forEach(([x, y, z], i) => {
      assert.equal(Math.fround(x), Math.fround(s.x[i]), `x of point ${i}`);
      assert.equal(Math.fround(y), Math.fround(s.y[i]), `y of point ${i}`);
      assert.equal(Math.fround(z), Math.fround(s.z[i]), `z of point ${i}`);
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('nearest materials equal the core\'s, in both distances, and are drawn as lines', async () => {
    const { page } = await open(browser.context, `${site.url}?model=models/glass-tg/&backend=cpu`);
    await settled(page);
    await openExplorer(page);
    await page.fill('#explorer-search', 'SiO2');
    await page.dispatchEvent('#explorer-search', 'change');
    await page.waitForSelector('#explorer-neighbours li');
    for (const distance of ['euclidean', 'cosine']) {
      await page.selectOption('#explorer-distance', distance);
      await page.fill('#explorer-nk', '6');
      await page.dispatchEvent('#explorer-nk', 'change');
      await page.waitForFunction(() => document.querySelectorAll('#explorer-neighbours li').length === 6);
      const shown = await page.$$eval('#explorer-neighbours li', (l) => l.map((x) => [x.dataset.name, Number(x.dataset.distance)]));
      const [, ...rows] = cli('neighbours', '--bundle', join(ROOT, 'public/models/glass-tg'), '--material', 'SiO2', '--k', '6', '--distance', distance).trim().split('\n');
      const want = rows.map((r) => r.split(','));
      assert.deepEqual(shown.map(([n]) => n), want.map(([n]) => n), distance);
      shown.forEach(([, d], i) => assert.ok(Math.abs(d - Number(want[i][1])) < 1e-6, `${distance} distance ${i}`));
    }
    const lines = await page.evaluate(() => document.getElementById('explorer-plot').data.find((t) => t.name === 'nearest'));
    assert.equal(lines.x.filter((v) => v === null).length, 6, 'one line per neighbour');
    await page.close();
  });

  test('a shared link reopens the same projection, camera, colour, selection and focus', async () => {
    const { page } = await open(browser.context, `${site.url}?model=models/glass-tg/&backend=cpu`);
    await settled(page);
    await openExplorer(page);
    await page.selectOption('#explorer-method', 'tsne');
    await page.fill('#explorer-seed', '3');
    await page.dispatchEvent('#explorer-seed', 'change');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.spec?.endsWith('.s3') && document.getElementById('explorer').dataset.job === 'idle', null, { timeout: 60_000 });
    await page.selectOption('#explorer-colour', 'meta:cation_group');
    // Lasso around the left half of the plot area (a real drag on the WebGL plot).
    await lassoLeftHalf(page, 'explorer-plot');
    await page.waitForFunction(() => Number(document.getElementById('explorer').dataset.selection) > 0);
    // Focus a material and zoom by search (centres the 2-D picture).
    await page.fill('#explorer-search', 'Na2O');
    await page.dispatchEvent('#explorer-search', 'change');
    await page.waitForSelector('#explorer-neighbours li');
    await page.waitForFunction(() => location.hash.includes('cam=') && location.hash.includes('sel='));
    await new Promise((r) => setTimeout(r, 500));
    const before = await plotState(page);
    const link = await page.$eval('#explorer-link', (i) => i.value);
    assert.ok(before.selected.length > 0 && before.selected.length < 19, `partial selection: ${before.selected.length}`);
    assert.ok(before.xrange && before.yrange, 'zoomed');

    const again = await open(browser.context, link);
    await settled(again.page);
    await again.page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    await drawn(again.page, before.spec);
    await again.page.waitForFunction(() => document.querySelectorAll('#explorer-neighbours li').length > 0);
    const after = await plotState(again.page);
    assert.deepEqual(after, before);
    assert.equal(await again.page.$eval('#explorer-colour', (s) => s.value), 'meta:cation_group');
    assert.equal(await again.page.$eval('#explorer', (e) => e.dataset.focus), await page.$eval('#explorer', (e) => e.dataset.focus));
    await again.page.close();

    // A 3-D camera travels too.
    const cam = '0.5,-1.75,1.25,0,0,0.1,0,0,1';
    const link3 = link.replace(/proj=[^&]*/, 'proj=pca.3').replace(/cam=[^&]*/, `cam=${cam}`);
    const third = await open(browser.context, link3);
    await settled(third.page);
    await third.page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    const s3 = await plotState(third.page);
    assert.equal(s3.type, 'scatter3d');
    assert.deepEqual(s3.camera, { eye: { x: 0.5, y: -1.75, z: 1.25 }, center: { x: 0, y: 0, z: 0.1 }, up: { x: 0, y: 0, z: 1 } });
    await third.page.close();
    await page.close();
  });

  test('a tampered or outdated link says what is wrong and shows the default view', async () => {
    for (const [hash, why] of [
      ['#x=1&proj=tsne.2.p99999', /perplexity/],
      ['#x=1&h=00000000&proj=pca.2', /another version of this model/],
      ['#x=9', /newer Mixlab/],
      ['#x=1&sel=0-9999', /"sel"/],
    ]) {
      const { page, errors } = await open(browser.context, `${site.url}?model=models/shampoo/&backend=cpu${hash}`);
      assert.equal(await settled(page), 'ready');
      await page.waitForSelector('#explorer-message');
      assert.match(await page.$eval('#explorer-message', (e) => e.textContent), why);
      await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
      const s = await plotState(page);
      assert.equal(s.spec, 'pca.2', 'default view');
      assert.equal(s.x.length, 19);
      // The rest of the app is untouched.
      assert.ok((await page.$$('#predictions tr[data-target]')).length > 0);
      assert.deepEqual(errors, []);
      await page.close();
    }
  });

  test('the worker reports progress, cancel keeps the picture, and a later run finishes', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?model=syn/&backend=cpu`);
    assert.equal(await settled(page), 'ready');
    await openExplorer(page);
    const first = await plotState(page);
    assert.equal(first.x.length, 1200);
    await page.selectOption('#explorer-method', 'tsne');
    // Progress moves: two different readings of the bar while it runs.
    await page.waitForSelector('#explorer-progress');
    const seen = new Set();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const v = await page.$eval('#explorer-progress', (p) => `${p.dataset.stage}:${p.value}`).catch(() => null);
      if (v) seen.add(v);
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(seen.size >= 2, `progress advanced: ${[...seen]}`);
    await page.click('#explorer-cancel');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.job === 'idle');
    assert.equal(await page.$('#explorer-progress'), null);
    assert.equal(await page.$eval('#explorer-method', (s) => s.value), 'pca', 'back to the picture shown');
    assert.deepEqual(await plotState(page), first);
    // Isomap on the same model runs to the end in a fresh worker.
    await page.selectOption('#explorer-method', 'isomap');
    const token = await page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('proj'));
    await drawn(page, token);
    const iso = await plotState(page);
    assert.equal(iso.origin, 'computed');
    assert.equal(iso.x.length, 1200);
    assert.ok(iso.x.every(Number.isFinite));
    // Training snapshots: step 0 is drawn on the trained codes' PCA axes, and the end of the
    // slider is the trained picture again.
    await page.selectOption('#explorer-method', 'pca');
    await drawn(page, 'pca.2');
    const setStep = (v) => page.$eval('#explorer-step', (el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }, v);
    await setStep('0');
    await page.waitForFunction(() => document.getElementById('explorer-plot').layout.title.text === 'training step 0 (PCA axes of the trained codes)');
    const early = await plotState(page);
    assert.notDeepEqual(early.x, first.x);
    assert.ok(early.x.every(Number.isFinite));
    await setStep('8');
    await page.waitForFunction(() => document.getElementById('explorer-plot').layout.title.text === 'PCA 2-D');
    const end = await plotState(page);
    end.x.forEach((v, i) => assert.ok(Math.abs(v - first.x[i]) < 1e-4, `trained point ${i}`));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('sensitivity colouring = the core\'s prediction change per +1 % of each material (the q.s. gives the room), the editor\'s numbers, and follows the formulation', async () => {
    const { page } = await open(browser.context, `${site.url}?model=models/steels/&backend=cpu#x=1&proj=pca.2&col=sens.0`);
    await settled(page);
    await page.waitForFunction(() => Array.isArray(document.getElementById('explorer-plot')?.data?.[0]?.marker?.color), null, { timeout: 60_000 });
    const check = async () => {
      const colours = await page.evaluate(() => Array.from(document.getElementById('explorer-plot').data[0].marker.color));
      const names = await page.evaluate(() => document.getElementById('explorer-plot').data[0].text.map((t) => t.match(/<b>(.*?)<\/b>/)[1]));
      const form = await shownFormulation(page);
      const qs = await page.$eval('#formulation tr.material.qs', (r) => r.dataset.material);
      const text = (f) => Object.entries(f).filter(([, v]) => v > 0).map(([m, v]) => `${m}:${(100 * v).toFixed(10)}`).join(';');
      const target = Object.keys(nativePrediction(join(ROOT, 'public/models/steels'), { formulation: text(form) }).predictions)[0];
      const base = nativePrediction(join(ROOT, 'public/models/steels'), { formulation: text(form) }).predictions[target];
      const i0 = names.indexOf(qs);
      for (const i of [0, 5, 13, i0]) {
        if (i === i0) { assert.equal(colours[i], 0, 'the q.s. material cannot take +1 %'); continue; }
        const f = { ...form, [qs]: form[qs] - 0.01 };
        f[names[i]] = (f[names[i]] ?? 0) + 0.01;
        const want = nativePrediction(join(ROOT, 'public/models/steels'), { formulation: text(f) }).predictions[target] - base;
        assert.ok(Math.abs(colours[i] - want) <= 1e-3 * Math.max(1, Math.abs(want)), `${names[i]}: ${colours[i]} vs ${want}`);
      }
      // The editor's sensitivity bars (same formulation) show the same numbers: one definition.
      await page.waitForFunction((f) => {
        const s = document.querySelector('#sensitivity')?.dataset.fractions;
        return s && Object.entries(JSON.parse(s)).every(([m, v]) => Math.abs(v - f[m]) < 1e-12);
      }, form, { timeout: 60_000 });
      const bars = JSON.parse(await page.getAttribute('#sensitivity', 'data-sensitivity'));
      assert.ok(Object.keys(bars).length >= 3, JSON.stringify(bars));
      for (const [name, byTarget] of Object.entries(bars)) {
        const c = colours[names.indexOf(name)];
        assert.ok(Math.abs(c - byTarget[target]) <= 1e-9 * Math.max(1, Math.abs(c)), `${name}: explorer ${c} vs editor ${byTarget[target]}`);
      }
      return colours;
    };
    const first = await check();
    // Editing the formulation recomputes them.
    await showPage(page, 'predict');
    const row = await page.$('#formulation tr.material input[type=number]');
    await row.fill('5');
    await row.press('Enter');
    await page.waitForFunction((old) => {
      const c = document.getElementById('explorer-plot').data[0].marker.color;
      return Array.isArray(c) && c.some((v, i) => Math.abs(v - old[i]) > 1e-9);
    }, first, { timeout: 30_000 });
    await check();
    await page.close();
  });

  test('selected materials go to the formulation; exports hold every point', async () => {
    const { page } = await open(browser.context, `${site.url}?model=models/steels/&backend=cpu#x=1&proj=pca.2&sel=0-2`);
    await settled(page);
    await page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
    const names = await page.evaluate(() => document.getElementById('explorer-plot').data[0].text.slice(0, 3).map((t) => t.match(/<b>(.*?)<\/b>/)[1]));
    await page.click('#explorer-add');
    await showPage(page, 'predict');
    await page.waitForFunction((n) => n.every((m) => document.querySelector(`#editor [data-material="${m}"]`) || document.body.innerText.includes(m)), names);
    await showPage(page, 'explore');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#explorer-csv')]);
    const text = await (await download.createReadStream()).toArray().then((c) => Buffer.concat(c).toString());
    const rows = text.trim().split('\n');
    assert.equal(rows[0], 'name,x,y');
    assert.equal(rows.length, 15);
    const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#explorer-svg')]);
    assert.match(svg.suggestedFilename(), /^mixlab-pca\.2\.svg$/);
    await page.close();
  });

  test('another bundle side by side: same projection, reopened by link, selection and focus linked by name', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?model=models/shampoo/&backend=cpu`);
    assert.equal(await settled(page), 'ready');
    await openExplorer(page);
    await page.selectOption('#explorer-compare', 'model:models/concrete/');
    await page.waitForFunction(() => document.getElementById('explorer').dataset.compareModel?.startsWith('Concrete'), null, { timeout: 60_000 });
    const b = await plotState(page, 'explorer-plot-b');
    const native = parseCoords(cli('project', '--bundle', join(ROOT, 'public/models/concrete'), '--spec', 'pca.2'));
    assert.equal(b.x.length, native.length);
    native.forEach(([x, y], i) => assert.ok(Math.abs(x - b.x[i]) < 1e-6 && Math.abs(y - b.y[i]) < 1e-6, `point ${i}`));
    assert.match(await page.evaluate(() => document.getElementById('explorer-plot-b').layout.title.text), /^Concrete .*: PCA 2-D$/);
    // The other model follows the main projection (fitted to its 7 materials: stored in its bundle).
    await page.selectOption('#explorer-method', 'umap');
    const token = await page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('cmp'));
    assert.match(token, /^umap\.2\./);
    await page.waitForFunction((t) => document.getElementById('explorer').dataset.compareSpec === t, token, { timeout: 60_000 });
    const link = await page.$eval('#explorer-link', (i) => i.value);
    assert.match(link, /om=models\/concrete\/&oh=[0-9a-f]{8}/);
    const before = await plotState(page, 'explorer-plot-b');
    const again = await open(browser.context, link);
    await settled(again.page);
    await again.page.waitForFunction((t) => document.getElementById('explorer')?.dataset.compareSpec === t, token, { timeout: 60_000 });
    assert.deepEqual(await plotState(again.page, 'explorer-plot-b'), before);
    assert.equal(await again.page.$eval('#explorer-compare', (s) => s.value), 'model:models/concrete/');
    await again.page.close();
    assert.deepEqual(errors, []);
    await page.close();

    // Two models of the same materials (in another order, B lacking some), from a link.
    const [ha, hb] = [fingerprint(join(dir, 'syn')), fingerprint(join(dir, 'syn-b'))];
    const shared = `${site.url}?model=syn/&backend=cpu#x=1&h=${ha}&proj=pca.2&sel=1000-1199&cmp=pca.2&om=syn-b/&oh=${hb}`;
    const two = await open(browser.context, shared);
    assert.equal(await settled(two.page), 'ready');
    await two.page.waitForFunction(() => document.getElementById('explorer')?.dataset.compareModel === 'Synthetic B', null, { timeout: 60_000 });
    const namesA = await pointNames(two.page, 'explorer-plot');
    const namesB = await pointNames(two.page, 'explorer-plot-b');
    assert.equal(namesA.length, 1200);
    assert.ok(namesB.length < 1200 && namesB.length > 900, `B has ${namesB.length} materials`);
    assert.notDeepEqual(namesB.slice(0, 50), namesA.slice(0, 50), 'another order');
    const selectedNames = async (id, names) => (await plotState(two.page, id)).selected.map((i) => names[i]).sort();
    const wantB = namesA.slice(1000, 1200).filter((n) => namesB.includes(n)).sort();
    assert.ok(wantB.length > 100 && wantB.length < 200, `${wantB.length} of the selection are in B`);
    assert.deepEqual(await selectedNames('explorer-plot-b', namesB), wantB);

    // A lasso on B selects the same materials (by name) on A.
    await lassoLeftHalf(two.page, 'explorer-plot-b');
    await two.page.waitForFunction(() => !location.hash.includes("sel=1000-1199"));
    await two.page.waitForFunction(() => Array.from(document.getElementById('explorer-plot').data[0].selectedpoints ?? []).length > 0);
    const onA = await selectedNames('explorer-plot', namesA);
    const onB = await selectedNames('explorer-plot-b', namesB);
    assert.deepEqual(onA, onB);
    const stateB = await plotState(two.page, 'explorer-plot-b');
    const mid = await two.page.evaluate(() => { const xa = document.getElementById('explorer-plot-b')._fullLayout.xaxis; return xa.p2l(xa._length / 2); });
    assert.ok(stateB.selected.every((i) => stateB.x[i] <= mid), 'the lassoed half of B');

    // A click on B focuses the same material on A (its most isolated point, for a sure hit).
    const pick = await two.page.evaluate(() => {
      const gd = document.getElementById('explorer-plot-b');
      gd.scrollIntoView();
      const { xaxis, yaxis, _size } = gd._fullLayout;
      const r = gd.getBoundingClientRect();
      const t = gd.data[0];
      const px = t.x.map((x, i) => [r.left + _size.l + xaxis.l2p(x), r.top + _size.t + yaxis.l2p(t.y[i])]);
      let best = [-1, 0];
      px.forEach(([x, y], i) => {
        if (x < r.left + _size.l + 10 || x > r.left + _size.l + _size.w - 10 || y < r.top + _size.t + 10 || y > r.top + _size.t + _size.h - 10) return;
        let near = Infinity;
        px.forEach(([u, v], j) => { if (j !== i) near = Math.min(near, Math.hypot(u - x, v - y)); });
        if (near > best[1]) best = [i, near];
      });
      return { i: best[0], x: px[best[0]][0], y: px[best[0]][1] };
    });
    await two.page.mouse.click(pick.x, pick.y);
    await two.page.waitForFunction(() => document.getElementById('explorer').dataset.focus !== '');
    const focus = Number(await two.page.$eval('#explorer', (e) => e.dataset.focus));
    assert.equal(namesA[focus], namesB[pick.i]);
    // B marks it too, with lines to its own nearest materials.
    await two.page.waitForFunction(() => document.getElementById('explorer-plot-b').data.some((t) => t.name === 'focus'));
    assert.deepEqual(await two.page.evaluate(() => document.getElementById('explorer-plot-b').data.find((t) => t.name === 'focus').x), [stateB.x[pick.i]]);
    await two.page.close();

    // The other model is checked: a changed one, or one on another site, is refused with a message.
    for (const [om, oh, why] of [['syn-b/', '00000000', /compared model.*another version of this model/],
      ['https:/evil.example/', hb, /"om"/]]) {
      const bad = await open(browser.context, `${site.url}?model=syn/&backend=cpu#x=1&h=${ha}&proj=pca.2&cmp=pca.2&om=${om}&oh=${oh}`);
      const requests = [];
      bad.page.on('request', (r) => requests.push(r.url()));
      await settled(bad.page);
      await bad.page.waitForSelector('#explorer-message', { timeout: 60_000 });
      assert.match(await bad.page.$eval('#explorer-message', (e) => e.textContent), why);
      await bad.page.waitForSelector('#explorer[data-draws]', { timeout: 60_000 });
      assert.equal((await plotState(bad.page)).x.length, 1200);
      assert.ok(requests.every((u) => u.startsWith(site.url) || u.startsWith(`blob:${site.url}`)), requests.join(' '));
      await bad.page.close();
    }
  });
});
