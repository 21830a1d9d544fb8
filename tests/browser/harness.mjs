// Shared pieces of the browser tests: the built app served on loopback, headless Chromium
// (Debian's, never a downloaded one), native predictions from the CLI for comparison.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/static-server.mjs';

// (not import.meta.dirname: Debian's Node 18 lacks it)
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = resolve(ROOT, process.env.MIXLAB_DIST ?? 'dist-test');
export const CHROMIUM = process.env.MIXLAB_CHROMIUM ?? '/usr/bin/chromium';

const BASE_ARGS = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** Headless Chromium; `webgpu: true` gives it SwiftShader's WebGPU adapter. */
export async function launch({ webgpu, extraArgs = [] }) {
  const dir = mkdtempSync(join(tmpdir(), 'mixlab-chromium-'));
  const args = [...BASE_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...extraArgs];
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args,
  });
  const close = async () => { await context.close(); rmSync(dir, { recursive: true, force: true }); };
  return { context, close };
}

/** Serve dist/ at `prefix` (a sub-path proves the asset URLs are relative), plus mounts. */
export async function serve({ prefix = '/', mounts = [] } = {}) {
  const server = await startServer({ root: DIST, mounts: [...mounts, ...(prefix === '/' ? [] : [[prefix, DIST]])] });
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { url: origin + prefix, origin, close: () => new Promise((ok) => server.close(ok)) };
}

/** Open a page, recording console errors and uncaught exceptions. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.goto(url);
  return { page, errors };
}

/** Show one of the app's pages (predict, score, explore, model) as a user does: by its tab. */
export async function showPage(page, name) {
  await page.click(`#nav-${name}`);
  await page.waitForSelector(`#page-${name}:not([hidden])`, { state: 'attached' });
}

/** Wait until the app shows a prediction (on any page) or an error; returns which. */
export async function settled(page) {
  await page.waitForSelector('#predictions tr[data-target], #error', { state: 'attached', timeout: 120_000 });
  return (await page.$('#error')) ? 'error' : 'ready';
}

/** The predictions shown in the page: target name → full-precision value. */
export async function shownPredictions(page) {
  return page.$$eval('#predictions tr[data-target]', (rows) => Object.fromEntries(
    rows.map((r) => [r.dataset.target, Number(r.querySelector('.value').dataset.value)])));
}

/** The ensemble spread shown per target (0 for a single model). */
export async function shownSpreads(page) {
  return page.$$eval('#predictions tr[data-target]', (rows) => Object.fromEntries(
    rows.map((r) => [r.dataset.target, Number(r.querySelector('.value').dataset.spread)])));
}

/**
 * What the native core predicts: `{predictions, spread, members}` for the bundle's default
 * formulation, or for `formulation`/`conditions` in the share-link text form.
 */
export function nativePrediction(bundleDir, { formulation, conditions } = {}) {
  const cli = process.env.MIXLAB_CLI;
  if (!cli) throw new Error('MIXLAB_CLI must point at the mixlab binary (scripts/test.sh sets it)');
  const args = ['predict', '--bundle', bundleDir];
  if (formulation) args.push('--formulation', formulation);
  if (conditions) args.push('--conditions', conditions);
  return JSON.parse(execFileSync(cli, args, { encoding: 'utf8' }));
}

/** The editor's rows: material → fraction (full precision), in row order. */
export async function shownFormulation(page) {
  return page.$$eval('#formulation tr.material', (rows) => Object.fromEntries(
    rows.map((r) => [r.dataset.material, Number(r.dataset.fraction)])));
}

/** The editor's state as share-link text, built from the rows at full precision. */
export async function formulationText(page) {
  return page.$$eval('#formulation tr.material', (rows) => rows.map((r) => {
    const flag = r.classList.contains('qs') ? ':q' : r.classList.contains('locked') ? ':l' : '';
    const name = r.dataset.material.replaceAll('%', '%25').replaceAll(':', '%3A').replaceAll(';', '%3B');
    return `${name}:${(100 * Number(r.dataset.fraction)).toFixed(8)}${flag}`;
  }).join(';'));
}

/** The sequence number of the prediction on screen (it grows with each one painted). */
export async function predictionSeq(page) {
  return Number(await page.getAttribute('#predictions', 'data-seq'));
}

/** Wait until the response curve and sensitivities of the current state are drawn. */
export async function analysed(page) {
  await page.waitForFunction(() => document.querySelector('#sensitivity')?.dataset.sensitivity, null, { timeout: 60_000 });
}

/** Pick a backend with the status bar's switch; returns once a prediction on it is painted. */
export async function switchBackend(page, backend) {
  const seq = await predictionSeq(page);
  await page.selectOption('#backend-switch', backend);
  await nextPrediction(page, seq);
  return page.getAttribute('#backend', 'data-backend');
}

/** Wait until a prediction newer than `seq` is painted and the computation queue is idle. */
export async function nextPrediction(page, seq) {
  await page.waitForFunction((s) => {
    const t = document.querySelector('#predictions');
    return Number(t?.dataset.seq) > s && t.dataset.busy === 'false';
  }, seq);
}

/** Drag a range input's thumb with real pointer events from its value to `toPercent`. */
export async function dragSlider(page, selector, toPercent, steps = 10, pauseMs = 0) {
  const el = await page.$(selector);
  const box = await el.boundingBox();
  const [min, max, value] = await el.evaluate((e) => [Number(e.min), Number(e.max), Number(e.value)]);
  // Chromium's thumb is ~16 px wide: its centre travels from box.x + 8 to box.x + width - 8.
  const at = (v) => box.x + 8 + ((v - min) / (max - min)) * (box.width - 16);
  const y = box.y + box.height / 2;
  await page.mouse.move(at(value), y);
  await page.mouse.down();
  for (let k = 1; k <= steps; k++) {
    await page.mouse.move(at(value + ((toPercent - value) * k) / steps), y);
    if (pauseMs) await page.waitForTimeout(pauseMs);
  }
  await page.mouse.up();
}


export function assertClose(assert, got, want, rel = 1e-4) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    assert.ok(Number.isFinite(g), `${k}: ${g} is not a number`);
    assert.ok(Math.abs(g - w) <= rel * Math.max(Math.abs(w), 1e-12), `${k}: browser ${g} vs native ${w}`);
  }
}
