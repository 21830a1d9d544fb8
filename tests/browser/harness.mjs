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
export async function launch({ webgpu }) {
  const dir = mkdtempSync(join(tmpdir(), 'mixlab-chromium-'));
  const args = [...BASE_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : [])];
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

/** Wait until the app shows a result or an error; returns which. */
export async function settled(page) {
  await page.waitForSelector('#backend, #error', { timeout: 120_000 });
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

/** What the native core predicts for a bundle's default formulation: `{predictions, spread}`. */
export function nativePrediction(bundleDir) {
  const cli = process.env.MIXLAB_CLI;
  if (!cli) throw new Error('MIXLAB_CLI must point at the mixlab binary (scripts/test.sh sets it)');
  return JSON.parse(execFileSync(cli, ['predict', '--bundle', bundleDir], { encoding: 'utf8' }));
}


export function assertClose(assert, got, want, rel = 1e-4) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    assert.ok(Number.isFinite(g), `${k}: ${g} is not a number`);
    assert.ok(Math.abs(g - w) <= rel * Math.max(Math.abs(w), 1e-12), `${k}: browser ${g} vs native ${w}`);
  }
}
