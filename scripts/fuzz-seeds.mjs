// Seed corpora for the fuzz targets (scripts/fuzz.sh), from the hardening corpus in tests/corpus
// and the bundled models: `node scripts/fuzz-seeds.mjs OUT_DIR` writes OUT_DIR/<target>/*.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_CASES, makeBundle } from '../tests/corpus/bundles.mjs';

const root = join(import.meta.dirname, '..');
const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/fuzz-seeds.mjs OUT_DIR');
const dir = (t) => { const d = join(out, t); mkdirSync(d, { recursive: true }); return d; };

// CSV reader: the corpus's files (but the 10,000-column one, too big to mutate usefully) and the example.
const csv = dir('csv_reader');
for (const f of readdirSync(join(root, 'tests/corpus/csv'))) {
  if (!f.startsWith('ten-thousand')) writeFileSync(join(csv, f), readFileSync(join(root, 'tests/corpus/csv', f)));
}
writeFileSync(join(csv, 'example.csv'), readFileSync(join(root, 'public/examples/shampoo-batch.csv')).subarray(0, 4000));

// Bundle loader: [u16 manifest length][manifest.json][weights.safetensors], good and broken.
const bundles = dir('bundle_loader');
const pack = (folder) => {
  const m = readFileSync(join(folder, 'manifest.json'));
  const len = Buffer.alloc(2);
  len.writeUInt16LE(Math.min(m.length, 65535));
  return Buffer.concat([len, m, readFileSync(join(folder, 'weights.safetensors'))]);
};
writeFileSync(join(bundles, 'steels'), pack(join(root, 'public/models/steels')));
const tmp = mkdtempSync(join(tmpdir(), 'mixlab-seeds-'));
for (const name of Object.keys(BUNDLE_CASES)) {
  writeFileSync(join(bundles, name), pack(makeBundle(name, join(root, 'public/models/steels'), tmp)));
}
rmSync(tmp, { recursive: true, force: true });

// Share links: every link case, and good links.
const links = dir('share_link');
const cases = JSON.parse(readFileSync(join(root, 'tests/corpus/cases.json'), 'utf8'));
for (const c of cases.filter((x) => x.kind === 'link')) writeFileSync(join(links, c.id), c.url);
writeFileSync(join(links, 'good'), 'https://x/?model=models/concrete/&f=cement:20;water:80:q&c=age_days:28#x=1&h=0badf00d&proj=tsne.3.p5.lr0.it1000.s7&col=meta.type&cam=1,2,3,4,5,6,7,8,9&sel=0-2.5&foc=1&nk=3&dist=cos&step=2&cmp=umap.3.nn4.md0.1.ep0.s1&om=models/glass-tg/&oh=12ab34cd');
