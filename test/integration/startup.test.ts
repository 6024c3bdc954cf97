/**
 * Start-up that fails half-way gives back what it took: a port already in use makes `startApp`
 * fail naming it, with the ports it had bound and the file store's lock released, so the same
 * scheduler can start at once on another port.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startApp } from '../../src/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { testConfig } from '../support/harness.js';
import { freePort } from '../support/processes.js';

describe('start-up that fails', () => {
  it(
    'a port in use: fails naming it and releases the ports and the store it took',
    { timeout: 20_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mlsched-startup-'));
      const taken = createServer();
      taken.listen(0, '127.0.0.1');
      await once(taken, 'listening');
      const address = taken.address();
      assert.ok(address !== null && typeof address !== 'string');
      const silent = createLogger('silent');
      const config = testConfig({
        store: { kind: 'file', dir },
        schedulerPort: await freePort(),
        agentPort: address.port,
      });
      try {
        await assert.rejects(startApp(config, silent), (e: Error) => {
          assert.match(e.message, new RegExp(`${address.port}|EADDRINUSE`));
          return true;
        });
        // The scheduler port it had bound and the store's lock are free again.
        const app = await startApp({ ...config, agentPort: 0 }, silent);
        assert.equal(app.ports.scheduler, config.schedulerPort);
        await app.stop(100);
      } finally {
        taken.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
