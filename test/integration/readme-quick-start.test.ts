/**
 * The README's Quick start, run as written so that it cannot rot: its `sh` blocks are read from
 * README.md and run in order, each `npx mlsched ARGS` as bin/mlsched.js (what npx runs there), `cd`
 * as the directory of the commands after it, and `npm ci` skipped (the tests run in an installed
 * checkout). `serve`, `agent` and `dataflow` keep running, as in their own terminals; every other
 * command must exit 0. An output block after an `sh` block must be what its commands printed on
 * stdout, `…` standing for any text. The only change to the commands: flags appended (the last of
 * a repeated flag wins) so that they use free loopback ports, not the defaults the README names.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killAll, mlsched, runMlsched, type Ports } from '../support/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The fenced blocks of the README's Quick start, in order: `sh` blocks and output blocks. */
function quickStartBlocks(): { sh: boolean; lines: string[] }[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const section = /^## Quick start\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "## Quick start" section');
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    sh: m[1] === 'sh',
    lines: (m[2] ?? '').split('\n').filter((l) => l.trim() !== ''),
  }));
}

/** A command line's words, without its comment; refused when it needs a shell to read it. */
function words(line: string): string[] {
  const command = line.replace(/(^|\s)#.*$/, '').trim();
  assert.doesNotMatch(command, /["'`$|&;<>\\*?(){}]/, `not a plain command: ${line}`);
  return command === '' ? [] : command.split(/\s+/);
}

/** Resolves with the first line of `stream` matching `pattern`, then lets the rest flow away. */
async function lineMatching(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  try {
    for await (const line of createInterface({ input: stream })) {
      if (pattern.test(line)) return line;
    }
  } finally {
    // Closing the line reader paused the stream: a process writing to a full pipe would block.
    stream.resume();
  }
  throw new Error(`the stream ended without a line matching ${String(pattern)}`);
}

/** Starts a long-running `mlsched` command; resolves once `ready` is seen on `stream`. */
async function background(
  args: string[],
  ready: (c: ChildProcess) => Promise<unknown>,
): Promise<ChildProcess> {
  const child = mlsched(...args);
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`mlsched ${args.join(' ')} exited (${String(code)})`);
  });
  await Promise.race([ready(child), exited]);
  exited.catch(() => undefined);
  return child;
}

/** `expected` (a README output line) with `…` standing for any text. */
const pattern = (expected: string): RegExp =>
  new RegExp(
    `^${expected
      .split('…')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

after(() => {
  killAll();
});

describe('README: the Quick start, as written', () => {
  it('runs every command and prints what it shows', async (t) => {
    let cwd = ROOT;
    let ports: Ports | undefined;
    let printed: string[] = [];
    const blocks = quickStartBlocks();
    assert.ok(blocks.filter((b) => b.sh).length >= 3, 'the Quick start has its commands');
    for (const block of blocks) {
      if (!block.sh) {
        assert.equal(printed.length, block.lines.length, `printed:\n${printed.join('\n')}`);
        block.lines.forEach((expected, i) => {
          assert.match(printed[i] ?? '', pattern(expected));
        });
        continue;
      }
      printed = [];
      for (const line of block.lines) {
        const [program, ...args] = words(line);
        if (program === undefined || (program === 'npm' && args.join(' ') === 'ci')) continue;
        if (program === 'cd' && args.length === 1) {
          cwd = resolve(cwd, args[0] ?? '');
          continue;
        }
        assert.equal(program, 'npx', `not an npx mlsched command: ${line}`);
        assert.equal(args.shift(), 'mlsched', `not an npx mlsched command: ${line}`);
        t.diagnostic(line);
        const [command] = args;
        if (command === 'serve') {
          const flags = ['--host', '127.0.0.1', '--scheduler-port', '0', '--agent-port', '0'];
          flags.push('--dataflow-port', '0', '--http-port', '0');
          const server = await background([...args, ...flags], (c) =>
            lineMatching(c.stdout!, /"listening"/).then((l) => (ports = JSON.parse(l) as Ports)),
          );
          assert.ok(server.pid);
          continue;
        }
        assert.ok(ports, `${line}: no scheduler started before`);
        if (command === 'agent' || command === 'dataflow') {
          // Connected before the next command, as a reader starting it in a terminal would see.
          const flag =
            command === 'agent'
              ? ['--agent-port', String(ports.agent)]
              : ['--dataflow-port', String(ports.dataflow)];
          await background([...args, ...flag], (c) =>
            lineMatching(c.stderr!, /connected to scheduler/),
          );
          continue;
        }
        const run = await runMlsched(
          [...args, '--scheduler-host', `127.0.0.1:${ports.scheduler}`],
          {
            cwd,
          },
        );
        assert.equal(run.code, 0, `${line}: ${run.stderr}`);
        printed.push(...run.stdout.split('\n').filter((l) => l !== ''));
      }
    }
  });
});
