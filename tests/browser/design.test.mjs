// The Design page in a real Chromium: the same recipes as `mixlab design`, every limit met on
// the numbers, a candidate opened in the editor, contradictions named, the share link.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ROOT, assertClose, launch, nativePrediction, open, serve, settled, showPage, shownFormulation, shownPredictions,
} from './harness.mjs';

const MODELS = ['concrete', 'shampoo', 'glass-tg', 'steels'];

/** One CSV line's cells (quoted cells may hold commas). */
function cells(line) {
  const out = [];
  let cur = '', quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** `mixlab design` on a bundled model's example spec: rows of {rank, desirability, recipe}. */
function nativeDesign(model, dir) {
  const out = join(dir, `${model}.csv`);
  execFileSync(process.env.MIXLAB_CLI, ['design', '--bundle', join(ROOT, `public/models/${model}`),
    '--spec', join(ROOT, `public/examples/design-${model}.json`), '--out', out], { stdio: 'pipe' });
  const [head, ...rows] = readFileSync(out, 'utf8').trim().split('\n').map(cells);
  const first = head.indexOf('active_limits') + 1;
  return rows.map((r) => ({
    rank: Number(r[0]),
    desirability: Number(r[1]),
    recipe: Object.fromEntries(head.slice(first).map((m, i) => [m, Number(r[first + i]) / 100]).filter(([, f]) => f > 0)),
  }));
}

/** The candidates the page shows. */
async function shownCandidates(page) {
  return page.$$eval('#design-results tr[data-rank]', (rows) => rows.map((r) => ({
    rank: Number(r.dataset.rank),
    desirability: Number(r.dataset.desirability),
    recipe: Object.fromEntries(JSON.parse(r.dataset.recipe)),
    conditions: JSON.parse(r.dataset.conditions),
    predicted: JSON.parse(r.dataset.predicted),
  })));
}

async function runDesign(page) {
  await page.click('#design-run');
  await page.waitForSelector('#design:not([data-phase=running]):not([data-phase=idle])', { timeout: 60_000 });
  return page.getAttribute('#design', 'data-phase');
}

async function openDesign(context, url, model) {
  const { page, errors } = await open(context, url);
  assert.equal(await settled(page), 'ready');
  await showPage(page, 'design');
  if (model) {
    await page.click('#design-example');
    await page.waitForFunction((m) => document.querySelector('#design-json')?.value.includes('"goals"')
      && document.querySelector('#design-problem') === null, model);
  }
  return { page, errors };
}

describe('design', () => {
  let browser, site, dir;
  before(async () => {
    browser = await launch({ webgpu: false });
    site = await serve();
    dir = mkdtempSync(join(tmpdir(), 'mixlab-design-'));
  });
  after(async () => { await browser.close(); await site.close(); rmSync(dir, { recursive: true, force: true }); });

  for (const model of MODELS) {
    test(`${model}: the example design gives the CLI's recipes, each within every limit`, async () => {
      const { page, errors } = await openDesign(browser.context, `${site.url}?model=models/${model}/&backend=cpu`, model);
      const spec = JSON.parse(await page.inputValue('#design-json'));
      assert.equal(await runDesign(page), 'done');
      const shown = await shownCandidates(page);
      const native = nativeDesign(model, dir);
      assert.equal(shown.length, native.length);
      for (const [s, n] of shown.map((s, i) => [s, native[i]])) {
        assert.equal(s.rank, n.rank);
        // The same bits in the browser and natively (the host model); the CSV has 6 decimals.
        assert.ok(Math.abs(s.desirability - n.desirability) <= 5.1e-7, `${model} #${s.rank}: ${s.desirability} vs ${n.desirability}`);
        assert.deepEqual(Object.keys(s.recipe).sort(), Object.keys(n.recipe).sort(), `${model} #${s.rank}`);
        for (const [m, f] of Object.entries(n.recipe)) assert.ok(Math.abs(s.recipe[m] - f) < 1e-12, `${model} #${s.rank} ${m}: ${s.recipe[m]} vs ${f}`);
      }
      // With two goals or more, the candidates are drawn on the first two.
      if (spec.goals.length + (spec.cost?.minimize ? 1 : 0) >= 2) {
        await page.waitForSelector('#design-pareto[data-points]', { state: 'attached', timeout: 30_000 });
        assert.equal(Number(await page.getAttribute('#design-pareto', 'data-points')), shown.length);
      }
      // Every limit, on the numbers.
      const manifest = JSON.parse(readFileSync(join(ROOT, `public/models/${model}/manifest.json`), 'utf8'));
      const info = Object.fromEntries(manifest.materials.map((m) => [m.name, m]));
      for (const c of shown) {
        const sum = Object.values(c.recipe).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-9, `${model} #${c.rank}: sum ${sum}`);
        if (spec.max_ingredients) assert.ok(Object.keys(c.recipe).length <= spec.max_ingredients);
        for (const [m, f] of Object.entries(c.recipe)) {
          if (spec.allowed) assert.ok(spec.allowed.includes(m) || m in (spec.limits ?? {}) || info[m].usage_count > 0.99 * Math.max(...manifest.materials.map((x) => x.usage_count)), `${m} not allowed`);
          const l = spec.limits?.[m] ?? {};
          if (l.min != null) assert.ok(f >= l.min / 100 - 1e-9, `${m} ${f} < min ${l.min}`);
          if (l.max != null) assert.ok(f <= l.max / 100 + 1e-9, `${m} ${f} > max ${l.max}`);
          // Inside the training domain (the default).
          assert.ok(f >= info[m].fraction_min - 1e-6 && f <= info[m].fraction_max + 1e-6, `${m} ${f} outside its training range`);
        }
        for (const g of spec.groups ?? []) {
          const total = Object.entries(c.recipe).filter(([m]) => info[m].metadata[g.key] === g.value).reduce((a, [, f]) => a + f, 0);
          if (g.min != null) assert.ok(total >= g.min / 100 - 1e-9, `group ${g.value} ${total}`);
          if (g.max != null) assert.ok(total <= g.max / 100 + 1e-9, `group ${g.value} ${total}`);
        }
        if (spec.qs) assert.ok(c.recipe[spec.qs] > 0, 'the q.s. material is in every recipe');
      }
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('a candidate opens in the editor with its prediction; the share link reopens the design', async () => {
    const { page, errors } = await openDesign(browser.context, `${site.url}?model=models/concrete/&backend=cpu`, 'concrete');
    assert.equal(await runDesign(page), 'done');
    const all = await shownCandidates(page);
    const [first] = all;
    const spec = await page.inputValue('#design-json');
    const link = page.url();
    // The table sorts by a column (the first target's prediction), both ways, and back by rank.
    const order = async () => (await shownCandidates(page)).map((c) => c.predicted[0][0]);
    await page.click('#design-results button.sort[data-sort=t0]');
    const up = await order();
    assert.deepEqual(up, [...up].sort((a, b) => a - b));
    await page.click('#design-results button.sort[data-sort=t0]');
    const down = await order();
    assert.deepEqual(down, [...up].reverse());
    await page.click('#design-results button.sort[data-sort=rank]');
    assert.deepEqual((await shownCandidates(page)).map((c) => c.rank), all.map((c) => c.rank));
    assert.match(link, /[?&]design=/);
    assert.match(link, /[?&]page=design/);
    await page.click('#design-results tr[data-rank="1"] .open-candidate');
    await page.waitForSelector('#page-predict:not([hidden])', { state: 'attached' });
    await page.waitForFunction((r) => {
      const rows = [...document.querySelectorAll('#formulation tr.material')];
      return rows.length === Object.keys(r).length && rows.every((row) => Math.abs(Number(row.dataset.fraction) - r[row.dataset.material]) < 1e-9);
    }, first.recipe);
    const shown = await shownFormulation(page);
    for (const [m, f] of Object.entries(first.recipe)) assert.ok(Math.abs(shown[m] - f) < 1e-9);
    await page.waitForFunction(() => document.querySelector('#predictions')?.dataset.busy === 'false');
    const predicted = await shownPredictions(page);
    assert.ok(Math.abs(predicted.strength_mpa - first.predicted[0][0]) < 1e-4, `${predicted.strength_mpa} vs ${first.predicted[0][0]}`);
    const text = Object.entries(first.recipe).map(([m, f]) => `${m}:${(100 * f).toFixed(10)}`).join(';');
    const native = nativePrediction(join(ROOT, 'public/models/concrete'), { formulation: text, conditions: `age_days:${first.conditions[0]};total_mass_kg_per_m3:${first.conditions[1]}` });
    assertClose(assert, predicted, native.predictions);
    // The design's link opens the same spec on the Design page, and the same recipes.
    const again = await open(browser.context, link);
    assert.equal(await settled(again.page), 'ready');
    await again.page.waitForSelector('#page-design:not([hidden])', { state: 'attached' });
    assert.deepEqual(JSON.parse(await again.page.inputValue('#design-json')), JSON.parse(spec));
    assert.equal(await runDesign(again.page), 'done');
    assert.deepEqual((await shownCandidates(again.page)).map((c) => c.recipe), all.map((c) => c.recipe));
    assert.deepEqual([...errors, ...again.errors], []);
    await again.page.close();
    await page.close();
  });

  test('the next experiments from a CSV of measured recipes equal mixlab suggest', async () => {
    const data = readFileSync(join(ROOT, 'data/concrete/data.csv'), 'utf8');
    const trials = join(dir, 'trials.csv');
    writeFileSync(trials, data.split('\n').slice(0, 21).join('\n'));
    const out = join(dir, 'next.csv');
    execFileSync(process.env.MIXLAB_CLI, ['suggest', '--bundle', join(ROOT, 'public/models/concrete'), '--measured', trials,
      '--spec', join(ROOT, 'public/examples/design-concrete.json'), '--n', '5', '--out', out], { stdio: 'pipe' });
    const [head, ...rows] = readFileSync(out, 'utf8').trim().split('\n').map(cells);
    const first = head.indexOf('active_limits') + 1;
    const native = rows.map((r) => ({
      reason: r[0],
      recipe: Object.fromEntries(head.slice(first).map((m, i) => [m, Number(r[first + i]) / 100]).filter(([, f]) => f > 0)),
    }));
    const { page, errors } = await openDesign(browser.context, `${site.url}?model=models/concrete/&backend=cpu`, 'concrete');
    await page.fill('#design-n', '5');
    await page.dispatchEvent('#design-n', 'change');
    await page.setInputFiles('#design-measured', trials);
    await page.waitForSelector('#design[data-phase=done] #design-results tr[data-rank]', { timeout: 60_000 });
    assert.match(await page.textContent('#design-summary'), /5 experiments to make next, after 20 measured recipes/);
    const shown = await shownCandidates(page);
    const reasons = await page.$$eval('#design-results td.reason', (tds) => tds.map((t) => t.dataset.reason));
    assert.equal(shown.length, native.length);
    assert.deepEqual(reasons, native.map((n) => n.reason));
    shown.forEach((s, i) => {
      assert.deepEqual(Object.keys(s.recipe).sort(), Object.keys(native[i].recipe).sort());
      for (const [m, f] of Object.entries(native[i].recipe)) assert.ok(Math.abs(s.recipe[m] - f) < 1e-12, `#${i + 1} ${m}`);
    });
    // Measured recipes with site jargon for headers: read with the mapping the scoring page
    // remembered for the model, equal to `mixlab suggest --mapping`.
    const foreign = join(ROOT, 'tests/corpus/exports/header-foreign.csv');
    const mapping = join(ROOT, 'tests/corpus/exports/header-foreign.mapping.json');
    const mappedOut = join(dir, 'next-mapped.csv');
    execFileSync(process.env.MIXLAB_CLI, ['suggest', '--bundle', join(ROOT, 'public/models/concrete'), '--measured', foreign,
      '--mapping', mapping, '--spec', join(ROOT, 'public/examples/design-concrete.json'), '--n', '5', '--out', mappedOut], { stdio: 'pipe' });
    const [mHead, ...mRows] = readFileSync(mappedOut, 'utf8').trim().split('\n').map(cells);
    const mFirst = mHead.indexOf('active_limits') + 1;
    const model = JSON.parse(readFileSync(join(ROOT, 'public/models/concrete/manifest.json'), 'utf8')).name;
    await page.evaluate(([key, text]) => localStorage.setItem(key, text), [`mixlab.mapping.v1:${model}`, readFileSync(mapping, 'utf8')]);
    await page.setInputFiles('#design-measured', foreign);
    await page.waitForFunction(() => /after 5 measured recipes/.test(document.querySelector('#design-summary')?.textContent ?? ''), null, { timeout: 60_000 });
    const mapped = await shownCandidates(page);
    assert.equal(mapped.length, mRows.length);
    mapped.forEach((s, i) => {
      const want = Object.fromEntries(mHead.slice(mFirst).map((m, j) => [m, Number(mRows[i][mFirst + j]) / 100]).filter(([, f]) => f > 0));
      assert.deepEqual(Object.keys(s.recipe).sort(), Object.keys(want).sort());
      for (const [m, f] of Object.entries(want)) assert.ok(Math.abs(s.recipe[m] - f) < 1e-12, `mapped #${i + 1} ${m}`);
    });
    // A file naming a material the model lacks: said, the page keeps working.
    writeFileSync(trials, 'cement,unobtainium,strength_mpa\n50,50,30\n');
    await page.setInputFiles('#design-measured', trials);
    await page.waitForSelector('#design[data-phase=refused]');
    assert.match(await page.textContent('#design-conflicts'), /unobtainium/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('group, cost and condition limits set in the form reach the spec and hold on the numbers', async () => {
    const { page, errors } = await openDesign(browser.context, `${site.url}?model=models/concrete/&backend=cpu`, 'concrete');
    // Only metadata that groups materials is offered (not a description per material).
    await page.click('#design-add-group');
    const keys = await page.$$eval('#design-groups tr.group-row .group-key option', (os) => os.map((o) => o.value));
    assert.ok(keys.includes('role') && !keys.includes('description'), keys.join());
    await page.selectOption('#design-groups .group-key', 'role');
    await page.selectOption('#design-groups .group-value', 'binder');
    for (const [sel, v] of [['#design-groups .group-min', '15'], ['#design-groups .group-max', '25'], ['#design-cost-max', '0.058']]) {
      await page.fill(sel, v);
      await page.dispatchEvent(sel, 'change');
    }
    await page.selectOption('#design-conditions tr[data-condition=age_days] .condition-mode', 'free');
    for (const [sel, v] of [['.condition-min', '7'], ['.condition-max', '90']]) {
      const at = `#design-conditions tr[data-condition=age_days] ${sel}`;
      await page.fill(at, v);
      await page.dispatchEvent(at, 'change');
    }
    const spec = JSON.parse(await page.inputValue('#design-json'));
    assert.deepEqual(spec.groups, [{ key: 'role', value: 'binder', min: 15, max: 25 }]);
    assert.equal(spec.cost.max, 0.058);
    assert.deepEqual(spec.conditions.age_days, { min: 7, max: 90 });
    assert.equal(await runDesign(page), 'done');
    const manifest = JSON.parse(readFileSync(join(ROOT, 'public/models/concrete/manifest.json'), 'utf8'));
    const role = Object.fromEntries(manifest.materials.map((m) => [m.name, m.metadata.role]));
    const shown = await shownCandidates(page);
    assert.ok(shown.length > 0);
    for (const c of shown) {
      const binder = Object.entries(c.recipe).filter(([m]) => role[m] === 'binder').reduce((a, [, f]) => a + f, 0);
      assert.ok(binder >= 0.15 - 1e-9 && binder <= 0.25 + 1e-9, `#${c.rank}: binder ${binder}`);
      const cost = Object.entries(c.recipe).reduce((a, [m, f]) => a + f * spec.prices[m], 0);
      assert.ok(cost <= 0.058 + 1e-9, `#${c.rank}: cost ${cost}`);
      assert.ok(c.conditions[0] >= 7 - 1e-9 && c.conditions[0] <= 90 + 1e-9, `#${c.rank}: age ${c.conditions[0]}`);
    }
    // The link carries the form's limits; removing the group takes it out of the spec.
    assert.match(decodeURIComponent(page.url()), /"role"/);
    await page.click('#design-groups .group-remove');
    assert.deepEqual(JSON.parse(await page.inputValue('#design-json')).groups, []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('contradictions are named, the page keeps its spec, and a fixed spec runs', async () => {
    const { page, errors } = await openDesign(browser.context, `${site.url}?model=models/concrete/&backend=cpu`, 'concrete');
    await page.click('#design-section summary');
    const bad = { goals: [{ goal: 'maximize', target: 'tensile' }], limits: { cement: { min: 20 }, water: { fixed: 90 } }, domain: 'off' };
    await page.fill('#design-json', JSON.stringify(bad));
    await page.click('#design-apply-json');
    assert.equal(await runDesign(page), 'refused');
    const conflicts = await page.$$eval('#design-conflicts li', (li) => li.map((l) => l.textContent));
    assert.ok(conflicts.some((c) => /"tensile", which this model does not predict/.test(c)), conflicts.join('\n'));
    assert.ok(conflicts.some((c) => /add up to 110 %/.test(c)), conflicts.join('\n'));
    // The spec is still there to fix.
    assert.match(await page.inputValue('#design-json'), /tensile/);
    // Not JSON at all: said, and the form keeps its spec.
    await page.fill('#design-json', '{ not json');
    await page.click('#design-apply-json');
    assert.match(await page.textContent('#design-problem'), /not a design spec/);
    await page.selectOption('#design-goals tr[data-target=strength_mpa] .goal-kind', 'maximize');
    await page.evaluate(() => { document.querySelector('#design-problem .dismiss')?.click(); });
    // Fix it in the form: the goal on the real target, the water limit gone.
    await page.fill('#design-materials tr[data-material=water] .limit-fixed', '');
    await page.dispatchEvent('#design-materials tr[data-material=water] .limit-fixed', 'change');
    const spec = JSON.parse(await page.inputValue('#design-json'));
    spec.goals = spec.goals.filter((g) => g.target !== 'tensile');
    await page.fill('#design-json', JSON.stringify(spec));
    await page.click('#design-apply-json');
    assert.equal(await runDesign(page), 'done');
    assert.ok((await shownCandidates(page)).length > 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
