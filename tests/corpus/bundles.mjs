// Broken model bundles for the hardening corpus, made from the bundled steels model (small):
// each case writes manifest.json and weights.safetensors into its own folder. Generated at test
// time rather than committed, so the corpus follows the bundle format as it changes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The safetensors file as { header (parsed JSON), data (bytes after the header) }. */
function split(bytes) {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString()), data: bytes.subarray(8 + n) };
}

function join8(header, data) {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

/** name → (manifest object, weights bytes) → [manifest text or bytes, weights bytes]. */
export const BUNDLE_CASES = {
  'truncated-weights': (m, w) => [m, w.subarray(0, w.length >> 1)],
  'empty-weights': (m) => [m, Buffer.alloc(0)],
  'huge-header-length': (m, w) => { const b = Buffer.from(w); b.writeBigUInt64LE(1n << 60n, 0); return [m, b]; },
  'header-not-json': (m, w) => { const b = Buffer.from(w); b.write('{{{{', 8); return [m, b]; },
  'offsets-past-end': (m, w) => {
    const { header, data } = split(w);
    header.codes.data_offsets = [0, 1 << 30];
    return [m, join8(header, data)];
  },
  'nan-weights': (m, w) => {
    const { header, data } = split(w);
    const d = Buffer.from(data);
    d.writeFloatLE(NaN, header['layers.0.weight'].data_offsets[0] + 4 * 3);
    return [m, join8(header, d)];
  },
  'inf-code': (m, w) => {
    const { header, data } = split(w);
    const d = Buffer.from(data);
    d.writeFloatLE(Infinity, header.codes.data_offsets[0]);
    return [m, join8(header, d)];
  },
  'f16-tensor': (m, w) => {
    const { header, data } = split(w);
    header['layers.0.bias'].dtype = 'F16';
    header['layers.0.bias'].shape = [header['layers.0.bias'].shape[0] * 2];
    return [m, join8(header, data)];
  },
  'missing-tensor': (m, w) => {
    // Taken out with its bytes, the later tensors moved up: a well-formed file without it.
    const { header, data } = split(w);
    const [from, to] = header['layers.1.weight'].data_offsets;
    delete header['layers.1.weight'];
    for (const t of Object.values(header)) {
      if (t.data_offsets && t.data_offsets[0] >= to) t.data_offsets = t.data_offsets.map((o) => o - (to - from));
    }
    return [m, join8(header, Buffer.concat([data.subarray(0, from), data.subarray(to)]))];
  },
  'shape-disagrees': (m, w) => [{ ...m, architecture: { ...m.architecture, code_dim: m.architecture.code_dim + 1 } }, w],
  'fewer-materials': (m, w) => [{ ...m, materials: m.materials.slice(1) }, w],
  'huge-code-dim': (m, w) => [{ ...m, architecture: { ...m.architecture, code_dim: 1000000000 } }, w],
  'huge-hidden': (m, w) => [{ ...m, architecture: { ...m.architecture, hidden: [2147483647, 2147483647] } }, w],
  'unknown-schema-version': (m, w) => [{ ...m, schema_version: 99 }, w],
  'not-a-bundle': (m, w) => [{ ...m, format: 'something-else' }, w],
  'manifest-not-json': (m, w) => ['{"format": "mixlab-bundle", ', w],
  'manifest-binary': (m, w) => [Buffer.from([0xff, 0xfe, 0, 1, 2, 3]), w],
  'manifest-array': (m, w) => ['[1, 2, 3]', w],
  'duplicate-material-names': (m, w) => [{ ...m, materials: m.materials.map((x, i) => (i === 1 ? { ...x, name: m.materials[0].name } : x)) }, w],
  'weights-are-the-manifest': (m) => [m, Buffer.from(JSON.stringify(m))],
};

/** Write case `name` from the bundle in `base` into `dir/name/`; returns that folder. */
export function makeBundle(name, base, dir) {
  const manifest = JSON.parse(readFileSync(join(base, 'manifest.json'), 'utf8'));
  const weights = readFileSync(join(base, 'weights.safetensors'));
  const [m, w] = BUNDLE_CASES[name](manifest, weights);
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'manifest.json'), typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m, null, 1));
  writeFileSync(join(out, 'weights.safetensors'), w);
  return out;
}
