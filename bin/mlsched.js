#!/usr/bin/env node
// The compiled command (dist/, made by `npm run build`, which `npm ci` and `npm pack` run), so
// that it starts with plain node. Development runs the sources instead: `npm run dev`, tsx.
const entry = new URL('../dist/main.js', import.meta.url);
try {
  await import(entry.href);
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(entry.pathname)) {
    process.stderr.write('mlsched: not built yet: run `npm run build` (npm ci runs it)\n');
    process.exit(1);
  }
  throw e;
}
