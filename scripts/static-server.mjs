// A small static file server for dist/ (no dependencies). Used by `scripts/serve.sh` and by
// the browser tests. Binds to loopback only; serves files, never directory listings.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.safetensors': 'application/octet-stream',
};

/** Serve `root` at `/`, and each `[prefix, dir]` of `mounts` at `prefix`. */
export function startServer({ root, mounts = [], port = 0, host = '127.0.0.1', log = () => {} }) {
  const roots = [...mounts.map(([p, d]) => [p, resolve(d)]), ['/', resolve(root)]];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    log(req.method, url.pathname);
    const pathname = decodeURIComponent(url.pathname);
    const [prefix, dir] = roots.find(([p]) => pathname.startsWith(p));
    let file = normalize(join(dir, pathname.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': size,
        'cache-control': 'no-cache',
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${pathname}`);
    }
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2] ?? 'dist';
  const port = Number(process.argv[3] ?? 8080);
  const server = await startServer({ root, port });
  console.log(`Mixlab is served at http://127.0.0.1:${server.address().port}/ (Ctrl-C stops it)`);
}
