/**
 * Health and reflection built on first use: every method answers as the libraries' own services
 * do, with statuses set before the first call and after it, on each server they were given.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { credentials, Server, ServerCredentials } from '@grpc/grpc-js';
import { addReflection, HealthService } from '../../../src/wire/lazy-services.js';
import { HealthClient, ReflectionClient } from '../../support/health.js';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus` as the test's client decodes it. */
const SERVING = 1;
const NOT_SERVING = 2;
const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, port) => {
      if (e) reject(e);
      else resolve(`127.0.0.1:${port}`);
    });
  });
}

describe('health and reflection built on first use', () => {
  const servers = [new Server(), new Server()];
  let health: HealthService;
  let addresses: string[];

  before(async () => {
    health = new HealthService(servers, { '': 'NOT_SERVING', 'x.Y': 'NOT_SERVING' });
    addReflection(servers[0]!, ['mlops/scheduler/scheduler.proto'], PROTO_DIR);
    // Before anything was built: the first call must see it.
    health.setStatus('x.Y', 'SERVING');
    addresses = await Promise.all(servers.map(listen));
  });
  after(() => {
    for (const s of servers) s.forceShutdown();
  });

  const check = (address: string, service: string) => {
    const c = new HealthClient(address, credentials.createInsecure());
    return new Promise<{ status?: number; code?: number }>((resolve) => {
      c.check({ service }, (e: { code: number } | null, r: { status: number }) => {
        c.close();
        resolve(e ? { code: e.code } : { status: r.status });
      });
    });
  };

  it('Check answers on every server, with statuses set before and after the first call', async () => {
    for (const a of addresses) {
      assert.deepEqual(await check(a, 'x.Y'), { status: SERVING });
      assert.deepEqual(await check(a, ''), { status: NOT_SERVING });
      assert.deepEqual(await check(a, 'unknown.Service'), { code: 5 });
    }
    health.setStatus('', 'SERVING');
    assert.deepEqual(await check(addresses[1]!, ''), { status: SERVING });
  });

  it('Watch streams each change', async () => {
    const c = new HealthClient(addresses[0]!, credentials.createInsecure());
    const call = c.watch({ service: 'x.Y' });
    const seen: number[] = [];
    call.on('data', (m: { status: number }) => seen.push(m.status));
    call.on('error', () => undefined);
    await once(call, 'data');
    health.setStatus('x.Y', 'NOT_SERVING');
    while (seen.length < 2) await once(call, 'data');
    call.cancel();
    c.close();
    assert.deepEqual(seen, [SERVING, NOT_SERVING]);
  });

  it('List gives every status', async () => {
    const c = new HealthClient(addresses[0]!, credentials.createInsecure());
    const statuses = await new Promise<Record<string, { status: number }>>((resolve, reject) => {
      c.list({}, (e: Error | null, r: { statuses: Record<string, { status: number }> }) => {
        c.close();
        if (e) reject(e);
        else resolve(r.statuses);
      });
    });
    assert.equal(statuses['x.Y']?.status, NOT_SERVING);
    assert.ok('' in statuses);
  });

  it('reflection lists the services and describes a symbol', async () => {
    const c = new ReflectionClient(addresses[0]!, credentials.createInsecure());
    const s = c.serverReflectionInfo();
    const replies: Record<string, unknown>[] = [];
    s.on('data', (m: Record<string, unknown>) => replies.push(m));
    s.on('error', () => undefined);
    s.write({ listServices: '' });
    s.write({ fileContainingSymbol: 'seldon.mlops.scheduler.Scheduler' });
    while (replies.length < 2) await once(s, 'data');
    s.end();
    c.close();
    const names = (
      replies[0]?.['listServicesResponse'] as { service: { name: string }[] }
    ).service.map((x) => x.name);
    assert.ok(names.includes('seldon.mlops.scheduler.Scheduler'), names.join());
    const files = (replies[1]?.['fileDescriptorResponse'] as { fileDescriptorProto: Buffer[] })
      .fileDescriptorProto;
    assert.ok(files.length > 0);
  });
});
