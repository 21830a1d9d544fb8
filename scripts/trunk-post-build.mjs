// Trunk post-build hook: moves the wasm loader Trunk writes inline into index.html into its
// own file, so the page runs under a Content-Security-Policy without 'unsafe-inline' scripts
// (index.html's policy). The file is named by a hash of its content, like Trunk's others.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a Trunk post_build hook');
const page = join(dir, 'index.html');
const html = readFileSync(page, 'utf8');
const inline = /<script type="module"(?: nonce="[^"]*")?>([\s\S]*?)<\/script>/g;
const found = [...html.matchAll(inline)];
if (found.length !== 1) throw new Error(`expected one inline module script in index.html, found ${found.length}`);
const code = found[0][1].trim() + '\n';
const name = `boot-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`;
writeFileSync(join(dir, name), code);
writeFileSync(page, html.replace(found[0][0], `<script type="module" src="./${name}"></script>`));
if (/<script(?![^>]*\bsrc=)[^>]*>/.test(readFileSync(page, 'utf8'))) throw new Error('an inline script is left in index.html');
