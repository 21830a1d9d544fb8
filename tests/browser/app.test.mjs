// The foundation's promises, checked in a real headless Chromium against the built app.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ROOT, assertClose, launch, nativePrediction, open, serve, settled, shownPredictions, shownSpreads,
  switchBackend,
} from './harness.mjs';

const BUNDLE = join(ROOT, 'public/models/shampoo');
const { predictions: native, spread: nativeSpread, members } = nativePrediction(BUNDLE);

describe('with WebGPU (SwiftShader)', () => {
  let browser, site;
  before(async () => { browser = await launch({ webgpu: true }); site = await serve(); });
  after(async () => { await browser.close(); await site.close(); });

  test('loads without console errors and predicts on WebGPU like the native core', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=webgpu`);
    assert.equal(await settled(page), 'ready', await page.textContent('body'));
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
    assert.match(await page.textContent('#backend'), /WebGPU/);
    assertClose(assert, await shownPredictions(page), native);
    // The default bundle is an ensemble: its spread is shown and equals the native one.
    assert.ok(members > 1, `default bundle has ${members} member(s)`);
    const spreads = await shownSpreads(page);
    for (const [k, w] of Object.entries(nativeSpread)) {
      assert.ok(w > 0, `${k}: native spread ${w}`);
      assert.ok(Math.abs(spreads[k] - w) <= 1e-3 * w + 1e-4 * Math.abs(native[k]), `${k}: spread ${spreads[k]} vs ${w}`);
    }
    assert.match(await page.textContent('#predictions'), /±/);
    assert.match(await page.textContent('#model-name'), /Shampoo/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('by default starts on the CPU, brings WebGPU up behind it and moves only when it measures faster', async () => {
    const { page, errors } = await open(browser.context, site.url);
    assert.equal(await settled(page), 'ready');
    // The first prediction does not wait for WebGPU.
    assertClose(assert, await shownPredictions(page), native);
    await page.waitForSelector('#backend-note[data-webgpu-ms]', { timeout: 120_000 });
    const ms = async (k) => Number(await page.getAttribute('#backend-note', `data-${k}-ms`));
    const [cpu, gpu, ready] = [await ms('cpu'), await ms('webgpu'), await ms('ready')];
    assert.ok(cpu > 0 && gpu > 0 && ready > 0, `cpu ${cpu}, webgpu ${gpu}, ready ${ready}`);
    const note = await page.textContent('#backend-note');
    const faster = gpu < cpu;
    assert.equal(await page.getAttribute('#backend', 'data-backend'), faster ? 'webgpu' : 'cpu', note);
    assert.match(note, faster ? /^Moved to WebGPU: .* ms, the CPU in .* ms\./ : /^Using the CPU: it predicts this model in .* ms, WebGPU \(ready after \d+ ms\) in .* ms\./);
    // The switch stays, and WebGPU (already up) gives the same numbers.
    if (!faster) assert.equal(await switchBackend(page, 'webgpu'), 'webgpu');
    assertClose(assert, await shownPredictions(page), native);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('?backend=cpu switches to the CPU and gives the same numbers', async () => {
    const { page, errors } = await open(browser.context, `${site.url}?backend=cpu`);
    assert.equal(await settled(page), 'ready');
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
    assertClose(assert, await shownPredictions(page), native);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('without WebGPU', () => {
  let browser, site;
  before(async () => { browser = await launch({ webgpu: false }); site = await serve(); });
  after(async () => { await browser.close(); await site.close(); });

  test('falls back to the CPU, says why, and predicts the same', async () => {
    const { page, errors } = await open(browser.context, site.url);
    assert.equal(await settled(page), 'ready');
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
    // WebGPU is tried behind the CPU; the note then says why it is not used.
    await page.waitForSelector('#backend-note', { timeout: 60_000 });
    assert.match(await page.textContent('#backend-note'), /Using the CPU/);
    assertClose(assert, await shownPredictions(page), native);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('static hosting', () => {
  test('works from a sub-path of a plain static server', async () => {
    const browser = await launch({ webgpu: true });
    const site = await serve({ prefix: '/project/mixlab/' });
    try {
      const { page, errors } = await open(browser.context, site.url);
      assert.equal(await settled(page), 'ready');
      assertClose(assert, await shownPredictions(page), native);
      assert.deepEqual(errors, []);
    } finally { await browser.close(); await site.close(); }
  });
});

describe('a link to a broken bundle gives a readable error and the default model', () => {
  let browser, site, dir;
  const manifest = readFileSync(join(BUNDLE, 'manifest.json'), 'utf8');
  const weights = readFileSync(join(BUNDLE, 'weights.safetensors'));
  const cases = {
    'truncated-weights': [manifest, weights.subarray(0, weights.length - 100), /weights\.safetensors cannot be read/],
    'future-version': [manifest.replace(/"schema_version": \d+/, '"schema_version": 99'), weights, /schema version 99 is not supported/],
    'not-json': ['{ this is not json', weights, /not valid JSON/],
    'shape-mismatch': [manifest.replace('"code_dim": 8', '"code_dim": 9'), weights, /tensor "codes" has shape \[19, 8\], the manifest implies \[19, 9\]/],
    'missing': [null, null, /HTTP 404/],
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mixlab-bad-bundles-'));
    for (const [name, [m, w]] of Object.entries(cases)) {
      if (m === null) continue;
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'manifest.json'), m);
      writeFileSync(join(dir, name, 'weights.safetensors'), w);
    }
    browser = await launch({ webgpu: true });
    site = await serve({ mounts: [['/bad/', dir]] });
  });
  after(async () => { await browser.close(); await site.close(); rmSync(dir, { recursive: true, force: true }); });

  for (const [name, [, , message]] of Object.entries(cases)) {
    test(name, async () => {
      const { page, errors } = await open(browser.context, `${site.url}?model=bad/${name}/`);
      // The message, and the default model opened instead: the app stays usable.
      assert.equal(await settled(page), 'ready');
      const text = await page.textContent('#notice');
      assert.match(text, message);
      assert.match(text, new RegExp(`bad/${name}/`), 'the message names the bundle');
      assert.match(text, /showing the default model instead/);
      assert.equal(await page.textContent('h1'), 'Mixlab');
      assertClose(assert, await shownPredictions(page), native);
      assert.ok(errors.every((e) => e.includes('404')), `unexpected console errors: ${errors}`);
      await page.close();
    });
  }
});
