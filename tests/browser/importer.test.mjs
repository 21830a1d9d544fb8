// The importer corpus (tests/corpus/cases.json, kind "export"; files in tests/corpus/exports,
// written by make_exports.py to what Excel, LibreOffice, Google Sheets, Numbers, pandas, R and a
// lab system write): each file is read — and scores exactly like the canonical file with the same
// numbers — or refused with its stated reason, by the CLI and by the app in headless Chromium.
// Then the column mapping: a file with foreign headers is mapped in the page's table, scores
// equal to `mixlab score --mapping` with the exported mapping, and the mapping is offered again
// after a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, serve, settled, showPage, ROOT } from './harness.mjs';

const CORPUS = join(ROOT, 'tests/corpus');
const CASES = JSON.parse(readFileSync(join(CORPUS, 'cases.json'), 'utf8'));
const EXPORTS = CASES.filter((c) => c.kind === 'export');
const SURVEY = JSON.parse(readFileSync(join(CORPUS, 'exports/files.json'), 'utf8'));
const CLI = process.env.MIXLAB_CLI ?? join(ROOT, 'target/debug/mixlab');
const model = (c) => join(ROOT, 'public/models', c.model);
const path = (rel) => join(CORPUS, rel);

function cli(args) {
  return spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
}

function scoreArgs(c, data, { mapping = true } = {}) {
  return ['score', '--bundle', model(c), '--data', data, ...(c.args ?? []),
    ...(mapping && c.mapping ? ['--mapping', path(c.mapping)] : [])];
}

/** The predicted columns of a scored CSV (any delimiter, decimal point or comma), by row. */
function predictions(text) {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  const head = lines[0];
  const delimiter = [',', ';', '\t'].sort((a, b) => head.split(b).length - head.split(a).length)[0];
  const split = (line) => {
    const cells = []; let cell = '', quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) { if (ch === '"' && line[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch; }
      else if (ch === '"') quoted = true; else if (ch === delimiter) { cells.push(cell); cell = ''; } else cell += ch;
    }
    cells.push(cell);
    return cells;
  };
  const header = split(head);
  const cols = header.map((h, i) => [h, i]).filter(([h]) => h.endsWith('_predicted'));
  assert.ok(cols.length > 0, `no predictions in:\n${text.slice(0, 500)}`);
  return lines.slice(1).map((l) => {
    const cells = split(l);
    return Object.fromEntries(cols.map(([h, i]) => [h, Number(cells[i].replace(',', '.'))]));
  });
}

function assertSamePredictions(got, want, what, tolerance) {
  assert.equal(got.length, want.length, `${what}: rows`);
  for (let r = 0; r < want.length; r++) {
    for (const [k, b] of Object.entries(want[r])) {
      const a = got[r][k];
      assert.ok(Math.abs(a - b) <= tolerance * Math.max(Math.abs(b), 1e-6), `${what}: row ${r + 1} ${k}: ${a} vs ${b}`);
    }
  }
}

const contains = (text, expect, what) => {
  for (const e of expect) assert.ok(text.includes(e), `${what}: ${JSON.stringify(e)} not in:\n${text.slice(0, 2000)}`);
};

describe('importer corpus', () => {
  test('covers every row of the survey: at least 30 exports, each with its outcome', () => {
    assert.ok(EXPORTS.length >= 30, `${EXPORTS.length} export cases`);
    const files = new Set(EXPORTS.map((c) => c.file));
    for (const f of SURVEY) assert.ok(files.has(`exports/${f.file}`), `${f.file} has no case`);
    for (const c of EXPORTS) assert.ok(['read', 'refuse'].includes(c.outcome), c.id);
    assert.ok(EXPORTS.filter((c) => c.outcome === 'refuse').length >= 8);
  });

  test('the CLI reads each as the canonical file or refuses it with its reason', () => {
    for (const c of EXPORTS) {
      const r = cli(scoreArgs(c, path(c.file)));
      assert.ok(!r.stderr.includes('panicked'), `${c.id}: ${r.stderr}`);
      contains(r.stderr, c.expect, c.id);
      if (c.outcome === 'refuse') {
        assert.notEqual(r.status, 0, `${c.id}: exit status`);
        continue;
      }
      assert.equal(r.status, 0, `${c.id}: ${r.stderr}`);
      if (c.same_as) {
        const want = cli(scoreArgs(c, path(c.same_as), { mapping: false }));
        assert.equal(want.status, 0, want.stderr);
        // Same numbers written another way: the same predictions (percent vs fraction rows
        // may differ in the last bits after normalising).
        assertSamePredictions(predictions(r.stdout), predictions(want.stdout), c.id, 1e-9);
      }
    }
  });

  test('a foreign header without its mapping is named, with suggestions, not guessed; mapped or recognised headers read alike for suggest', () => {
    const c = EXPORTS.find((x) => x.mapping);
    const r = cli(scoreArgs(c, path(c.file), { mapping: false }));
    assert.notEqual(r.status, 0);
    contains(r.stderr, ['unknown material(s) OPC'], 'no mapping');
    const m = cli(['map', '--bundle', model(c), '--data', path(c.file)]);
    assert.equal(m.status, 0, m.stderr);
    contains(m.stderr, ['column 9 "Test age": unknown', 'suggested: condition "age_days"'], 'map');
    const bad = cli([...scoreArgs(c, path(c.file), { mapping: false }), '--mapping', path('exports/canonical-concrete.csv')]);
    contains(bad.stderr, ['is not valid JSON for a Mixlab mapping'], 'bad mapping');
    // The same importer reads design's measured recipes and training data.
    const suggest = (data, extra = []) => cli(['suggest', '--bundle', model(c), '--measured', data, '--n', '2', '--seed', '3', ...extra]);
    const mapped = suggest(path(c.file), ['--mapping', path(c.mapping)]);
    assert.equal(mapped.status, 0, mapped.stderr);
    assert.equal(mapped.stdout, suggest(path(c.same_as)).stdout, 'suggest from mapped headers');
    const uci = EXPORTS.find((x) => x.id === 'export-header-uci-original');
    assert.equal(suggest(path(uci.file)).stdout, suggest(path(c.same_as)).stdout, 'suggest from recognised headers');
  });

  describe('in the app', () => {
    let site, browser;
    before(async () => {
      site = await serve();
      browser = await launch({ webgpu: false });
    });
    after(async () => { await browser?.close(); await site?.close(); });

    /** Hand a file to the scoring page; the phase it settles in (scoring the report's default
     * choices when it asks). */
    async function scoreFile(page, file) {
      const name = file.split('/').pop();
      await page.setInputFiles('#batch-file', file);
      const settledPhase = () => page.waitForFunction((n) => {
        const b = document.getElementById('batch');
        return b.dataset.file === n && ['failed', 'report', 'done'].includes(b.dataset.phase) && b.dataset.phase;
      }, name, { timeout: 120_000 }).then((h) => h.jsonValue());
      let phase = await settledPhase();
      if (phase === 'report' && await page.$('#batch-score')) {
        await page.click('#batch-score');
        await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
        phase = 'done';
      } else if (phase === 'report') {
        // Scored at once (nothing to decide): wait for the results.
        await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
        phase = 'done';
      }
      return phase;
    }

    async function download(page, button) {
      const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      return readFileSync(await file.path(), 'utf8');
    }

    async function scoringPage(modelName) {
      const { page, errors } = await open(browser.context, `${site.url}?model=models/${modelName}/&backend=cpu`);
      assert.equal(await settled(page), 'ready');
      await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
      await showPage(page, 'score');
      return { page, errors };
    }

    test('each export: read and scored like the CLI, or refused with its reason in the page', async () => {
      for (const modelName of ['shampoo', 'concrete']) {
        const { page, errors } = await scoringPage(modelName);
        for (const c of EXPORTS.filter((x) => x.model === modelName && !x.mapping)) {
          const phase = await scoreFile(page, path(c.file));
          const text = await page.$eval('#batch', (b) => b.innerText);
          if (c.outcome === 'refuse') {
            assert.ok(['failed', 'done', 'report'].includes(phase), c.id);
            contains(text, c.expect.filter((e) => !e.startsWith('scored ')), c.id);
            continue;
          }
          assert.equal(phase, 'done', `${c.id}: ${text.slice(0, 500)}`);
          contains(text, c.page ?? [], c.id);
          const want = cli(scoreArgs(c, path(c.file)));
          assertSamePredictions(predictions(await download(page, '#batch-download')), predictions(want.stdout), c.id, 1e-4);
        }
        assert.deepEqual(errors, []);
        await page.close();
      }
    });

    test('foreign headers mapped in the table score like `mixlab score --mapping`; the mapping is exported and offered again after a reload', async () => {
      const c = EXPORTS.find((x) => x.mapping);
      const mapping = JSON.parse(readFileSync(path(c.mapping), 'utf8'));
      const { page, errors } = await scoringPage(c.model);
      await page.setInputFiles('#batch-file', path(c.file));
      await page.waitForSelector('#batch-columns', { timeout: 120_000 });
      const how = await page.$$eval('#batch-columns tr[data-header]', (rows) => rows.map((r) => [r.dataset.header, r.dataset.how]));
      assert.equal(how.length, Object.keys(mapping.columns).length);
      // The id column is recognised by its name; the site jargon is not the model's.
      // (Unknown columns are listed first.)
      assert.deepEqual(how.at(-1), ['Mix no.', 'recognised']);
      assert.ok(how.slice(0, -1).every(([, h]) => h === 'unknown'), JSON.stringify(how));
      // Suggestions come preselected: a label's word, a description's word and initials.
      for (const [header, value] of [['Test age', 'condition:age_days'], ['Sand', 'material:fine_aggregate'], ['GGBS', 'material:blast_furnace_slag']]) {
        assert.equal(await page.$eval(`select[data-header="${header}"]`, (s) => s.value), value, header);
      }
      for (const [header, role] of Object.entries(mapping.columns)) {
        const value = role.name ? `${role.role}:${role.name}` : role.role;
        await page.selectOption(`select[data-header="${header}"]`, value);
      }
      const exportedText = await download(page, '#batch-export-mapping');
      const exported = JSON.parse(exportedText);
      assert.deepEqual(exported.columns, mapping.columns);
      assert.equal(exported.format, 'mixlab-mapping');
      await page.click('#batch-apply-mapping');
      await page.waitForFunction(() => [...document.querySelectorAll('#batch-columns tr[data-header]')].every((r) => r.dataset.how === 'mapped'), null, { timeout: 120_000 });
      await page.click('#batch-score');
      await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
      // The CLI with the mapping the page exported.
      const dir = mkdtempSync(join(tmpdir(), 'mixlab-mapping-'));
      writeFileSync(join(dir, 'mapping.json'), exportedText);
      const want = cli([...scoreArgs(c, path(c.file), { mapping: false }), '--mapping', join(dir, 'mapping.json')]);
      rmSync(dir, { recursive: true, force: true });
      assert.equal(want.status, 0, want.stderr);
      assertSamePredictions(predictions(await download(page, '#batch-download')), predictions(want.stdout), 'mapped in the app', 1e-4);

      // Reload: the next file gets the remembered mapping at once.
      await page.reload();
      assert.equal(await settled(page), 'ready');
      await page.waitForFunction(() => document.querySelector('#batch')?.dataset.worker, null, { timeout: 120_000 });
      await showPage(page, 'score');
      await page.setInputFiles('#batch-file', path(c.file));
      await page.waitForSelector('#batch-columns #batch-forget-mapping', { timeout: 120_000 });
      const again = await page.$$eval('#batch-columns tr[data-header]', (rows) => rows.map((r) => r.dataset.how));
      assert.ok(again.every((h) => h === 'mapped'), JSON.stringify(again));
      await page.click('#batch-score');
      await page.waitForSelector('#batch[data-phase=done] #batch-summary', { timeout: 120_000 });
      assertSamePredictions(predictions(await download(page, '#batch-download')), predictions(want.stdout), 'after a reload', 1e-4);

      // A broken mapping file is refused with its reason; the remembered one stays.
      await page.setInputFiles('#batch-mapping-file', path('exports/canonical-concrete.csv'));
      await page.waitForSelector('#batch-mapping-error');
      assert.match(await page.textContent('#batch-mapping-error'), /not valid JSON for a Mixlab mapping/);
      // Forgotten: the columns are unknown again.
      await page.click('#batch-forget-mapping');
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('#batch-columns tr[data-header]')];
        return rows.length > 0 && rows.filter((r) => r.dataset.header !== 'Mix no.').every((r) => r.dataset.how === 'unknown');
      }, null, { timeout: 120_000 });
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
});
