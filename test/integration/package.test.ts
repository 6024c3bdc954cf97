/**
 * The package as it ships: `npm pack` (which builds dist/), installed into an empty folder with
 * npm, then `mlsched` run from there with plain node (tsx, a development dependency, is not
 * installed): `--version`, `serve` with its default file store, the client commands against it,
 * and SIGTERM to the installed command reaching the scheduler itself (a clean stop, the store's
 * lock released).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

describe('the npm package, installed into an empty folder', () => {
  let dir: string;
  let bin: string;
  let server: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlsched-package-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      maxBuffer: 16 * 2 ** 20,
    });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    const app = join(dir, 'app');
    rmSync(app, { recursive: true, force: true });
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
    // Dependencies come from npm's cache when it has them (CI has just filled it with npm ci).
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, filename)],
      { cwd: app, maxBuffer: 16 * 2 ** 20 },
    );
    bin = join(app, 'node_modules', '.bin', 'mlsched');
  });

  after(() => {
    if (server?.exitCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the compiled command, not the TypeScript sources or the tests', () => {
    const pkg = join(dir, 'app', 'node_modules', 'mlsched');
    assert.ok(existsSync(join(pkg, 'dist', 'main.js')));
    assert.ok(existsSync(join(pkg, 'proto', 'mlops', 'scheduler', 'scheduler.proto')));
    assert.ok(existsSync(join(pkg, 'src', 'http', 'dashboard', 'static', 'index.html')));
    assert.deepEqual(readdirSync(join(pkg, 'src')), ['http']);
    assert.deepEqual(readdirSync(join(pkg, 'src', 'http')), ['dashboard']);
    assert.deepEqual(readdirSync(join(pkg, 'src', 'http', 'dashboard')), ['static']);
    assert.ok(!existsSync(join(pkg, 'test')));
    assert.ok(!existsSync(join(dir, 'app', 'node_modules', 'tsx')), 'tsx is not installed');
  });

  it('prints its version', async () => {
    const { stdout } = await run(bin, ['--version']);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(stdout.trim(), version);
  });

  /** Starts the installed command itself, as a container's entry point runs it (no npx). */
  async function serve(store: string): Promise<{ host: string[]; logs: () => string }> {
    const p = spawn(
      bin,
      [
        'serve',
        '--host',
        '127.0.0.1',
        '--store',
        `file:${store}`,
        ...['--scheduler-port', '0', '--agent-port', '0', '--dataflow-port', '0'],
        ...['--http-port', '0'],
      ],
      { cwd: join(dir, 'app'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server = p;
    let logs = '';
    p.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const [line] = (await Promise.race([
      once(createInterface({ input: p.stdout }), 'line'),
      once(p, 'exit').then(() => {
        throw new Error(`serve exited before listening: ${logs}`);
      }),
    ])) as [string];
    const ports = JSON.parse(line) as { scheduler: number };
    return { host: ['--scheduler-host', `127.0.0.1:${ports.scheduler}`], logs: () => logs };
  }

  /** SIGTERM to the installed command: the scheduler itself stops cleanly. */
  async function stop(logs: () => string): Promise<void> {
    const p = server;
    assert.ok(p);
    const exited = once(p, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    p.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, logs());
    assert.match(logs(), /"msg":"stopped"/);
  }

  it('serves, answers the client commands, stops on SIGTERM and starts again on its store', async () => {
    const store = join(dir, 'store');
    const first = await serve(store);
    const manifest = join(dir, 'model.yaml');
    writeFileSync(
      manifest,
      'apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: iris\nspec:\n  storageUri: gs://seldon-models/scv2/samples/mlserver_1.5.0/iris-sklearn\n  requirements: [sklearn]\n',
    );
    const loaded = await run(bin, ['model', 'load', '-f', manifest, ...first.host]);
    assert.deepEqual(JSON.parse(loaded.stdout), {
      kind: 'Model',
      name: 'iris',
      action: 'load',
      ok: true,
    });
    await stop(first.logs);

    // The store's lock was released and the model kept: a new scheduler serves it at once.
    const second = await serve(store);
    const listed = await run(bin, ['model', 'list', ...second.host]);
    assert.equal((JSON.parse(listed.stdout) as { modelName: string }).modelName, 'iris');
    await stop(second.logs);
  });
});
