// Benchmark: input event → prediction painted in the live editor, on WebGPU (SwiftShader)
// and on the CPU path, in headless Chromium. Real pointer drags over a slider at ~60 Hz;
// for every input event, the latency is the time until the first painted prediction that
// includes it (coalesced inputs wait for the one in flight, as a user would). "Painted" is
// the animation frame after the prediction reached the DOM (requestAnimationFrame).
// Also: the response curve (100 points) compute and plot times.
// Usage: node bench/editor-latency.mjs [dist-dir] [drags=10] [moves per drag=20]
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const drags = Number(process.argv[3] ?? 10);
const moves = Number(process.argv[4] ?? 20);
process.env.MIXLAB_DIST = dist;
// Imported once MIXLAB_DIST is set: the harness reads it when it loads.
const { analysed, launch, open, serve, settled } = await import('../tests/browser/harness.mjs');

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const fmt = (xs) => `p50 ${quantile(xs, 0.5).toFixed(2)} ms, p95 ${quantile(xs, 0.95).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;

const site = await serve();
const results = [];
for (const [label, webgpu] of [['WebGPU (SwiftShader)', true], ['CPU (WebAssembly)', false]]) {
  const browser = await launch({ webgpu });
  const { page } = await open(browser.context, `${site.url}?backend=${webgpu ? 'webgpu' : 'cpu'}`);
  await page.setViewportSize({ width: 1400, height: 1000 });
  if (await settled(page) !== 'ready') throw new Error(await page.textContent('body'));
  await analysed(page);
  await page.evaluate(() => {
    window.__inputs = [];
    window.__paints = [];
    document.addEventListener('input', (e) => { if (e.target.classList.contains('slider')) window.__inputs.push(e.timeStamp); }, true);
    const table = document.querySelector('#predictions');
    new MutationObserver(() => {
      const ts = Number(table.dataset.inputTs);
      requestAnimationFrame(() => window.__paints.push([ts, performance.now()]));
    }).observe(table, { attributes: true, attributeFilter: ['data-seq'] });
  });
  const curve = [];
  const sliders = ['Plantacare 818', 'Dehyquart A-CA', 'Arlypon TT'];
  for (let d = 0; d < drags; d++) {
    const name = sliders[d % sliders.length];
    const el = await page.$(`tr.material[data-material="${name}"] input.slider`);
    const box = await el.boundingBox();
    const y = box.y + box.height / 2;
    const value = await el.evaluate((e) => Number(e.value));
    const x0 = box.x + 8 + (value / 100) * (box.width - 16);
    await page.mouse.move(x0, y);
    await page.mouse.down();
    for (let k = 1; k <= moves; k++) {
      // Wander 0 to 2 % either way of the start: stays within what q.s. allows.
      await page.mouse.move(x0 + Math.sin(k / 3) * 0.02 * (box.width - 16), y);
      await page.waitForTimeout(16);
    }
    await page.mouse.up();
    // Let the analysis (curve + sensitivities) run after the drag and record its times.
    await page.waitForTimeout(100);
    await page.waitForFunction((n) => document.querySelector('#response-curve')?.dataset.material === n, name);
    const seq = await page.evaluate(() => document.querySelector('#sensitivity').dataset.sensitivity);
    await page.waitForTimeout(400);
    curve.push(await page.evaluate(() => {
      const c = document.querySelector('#response-curve').dataset;
      return [Number(c.computeMs), Number(c.plotMs)];
    }));
    void seq;
  }
  await page.waitForTimeout(300);
  const { inputs, paints } = await page.evaluate(() => ({ inputs: window.__inputs, paints: window.__paints }));
  const latencies = inputs.map((t) => {
    const p = paints.find(([ts, at]) => ts >= t && at >= t);
    return p ? p[1] - t : NaN;
  }).filter(Number.isFinite);
  const unanswered = inputs.length - latencies.length;
  console.log(`${label}: input → prediction painted ${fmt(latencies)}${unanswered ? `, ${unanswered} inputs never painted` : ''}; ${paints.length} predictions painted for ${inputs.length} inputs`);
  console.log(`${label}: response curve (100 points) compute ${fmt(curve.map((c) => c[0]))}; plot ${fmt(curve.map((c) => c[1]))}; total ${fmt(curve.map((c) => c[0] + c[1]))}`);
  results.push({ label, latencies, curve });
  await browser.close();
}
await site.close();
