/**
 * Redaction on the HTTP port: the secret of each shape a view may write (the domain's
 * `storageConfig`, proto JSON, ts-proto's oneof) becomes "[redacted]" with its key kept; a Secret's
 * name stays; text without a secret passes untouched; and {@link RedactingResponse} applies it to
 * JSON bodies and server-sent events however they are written.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import {
  REDACTED,
  RedactingResponse,
  redactEventsText,
  redactJsonText,
} from '../../../src/http/redact.js';

const SECRET = 'secret_access_key = AKIA-hunter2';
const rclone = { kind: 'rcloneConfig', value: `{"type":"s3","${SECRET}"}` };

describe('redactJsonText', () => {
  it("replaces the domain's rclone config, keeping the key and the Secret's name", () => {
    const body = {
      models: [
        {
          name: 'a',
          versions: [{ definition: { spec: { uri: 's3://a', storageConfig: rclone } } }],
        },
        { name: 'b', spec: { storageConfig: { kind: 'secretName', value: 'seldon-s3' } } },
      ],
    };
    const out = redactJsonText(JSON.stringify(body));
    assert.ok(!out.includes('hunter2'), out);
    const parsed = JSON.parse(out) as typeof body;
    assert.deepEqual(parsed.models[0]?.versions?.[0]?.definition.spec.storageConfig, {
      kind: 'rcloneConfig',
      value: REDACTED,
    });
    assert.deepEqual(parsed.models[1]?.spec?.storageConfig, {
      kind: 'secretName',
      value: 'seldon-s3',
    });
  });

  it('replaces it as proto JSON and as a ts-proto oneof', () => {
    const proto = { modelSpec: { storageConfig: { storageRcloneConfig: SECRET } } };
    const tsProto = { storageConfig: { config: { $case: 'storageRcloneConfig', value: SECRET } } };
    const snake = { storage_config: { storage_rclone_config: SECRET } };
    for (const body of [proto, tsProto, snake]) {
      const out = redactJsonText(JSON.stringify(body));
      assert.ok(!out.includes('hunter2'), out);
      assert.ok(out.includes(REDACTED), out);
    }
  });

  it('returns text without a secret as it is, and keeps the indentation of one that has', () => {
    const plain = JSON.stringify({ models: [{ name: 'rclone', uri: 's3://x' }] }, null, 2);
    assert.equal(redactJsonText(plain), plain);
    const named = JSON.stringify({ note: 'an rcloneConfig is redacted' });
    assert.equal(redactJsonText(named), named);
    const indented = JSON.stringify({ storageConfig: rclone }, null, 2);
    assert.equal(
      redactJsonText(indented),
      JSON.stringify({ storageConfig: { ...rclone, value: REDACTED } }, null, 2),
    );
  });

  it('withholds JSON that mentions a secret but does not parse', () => {
    const out = redactJsonText(`{"storageConfig":{"kind":"rcloneConfig","value":"${SECRET}"`);
    assert.ok(!out.includes('hunter2'));
    assert.match(out, /withheld/);
  });
});

describe('redactEventsText', () => {
  it('redacts the data of each event, keeps its other fields and events without secrets', () => {
    const events =
      `event: update\ndata: ${JSON.stringify({ storageConfig: rclone })}\n\n` +
      `data: ${JSON.stringify({ n: 1 })}\n\n`;
    const out = redactEventsText(events);
    assert.ok(!out.includes('hunter2'), out);
    assert.equal(
      out,
      `event: update\ndata: ${JSON.stringify({ storageConfig: { ...rclone, value: REDACTED } })}\n\n` +
        `data: ${JSON.stringify({ n: 1 })}\n\n`,
    );
  });
});

describe('RedactingResponse', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  async function serve(handler: RequestListener): Promise<string> {
    const server = createServer({ ServerResponse: RedactingResponse }, handler);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    return `http://127.0.0.1:${address.port}/`;
  }

  const secretJson = JSON.stringify({ storageConfig: rclone });

  it('redacts a JSON body given to end(), whatever the head says it is', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(secretJson);
    });
    const body = await (await fetch(url)).text();
    assert.equal(body, JSON.stringify({ storageConfig: { ...rclone, value: REDACTED } }));
  });

  it('redacts a JSON body written in pieces, split inside a character, after setHeader', async () => {
    const bytes = Buffer.from(JSON.stringify({ storageConfig: rclone, city: 'Zürich' }));
    const cut = bytes.indexOf(Buffer.from('ü')) + 1;
    const url = await serve((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write(bytes.subarray(0, 10));
      res.write(bytes.subarray(10, cut));
      res.end(bytes.subarray(cut));
    });
    const body = JSON.parse(await (await fetch(url)).text()) as { city: string };
    assert.deepEqual(body, { storageConfig: { ...rclone, value: REDACTED }, city: 'Zürich' });
  });

  it('redacts server-sent events, also an event written in two pieces', async () => {
    const event = `data: ${secretJson}\n\n`;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event);
      res.write(event.slice(0, 20));
      res.write(event.slice(20));
      res.end();
    });
    const body = await (await fetch(url)).text();
    const redacted = `data: ${JSON.stringify({ storageConfig: { ...rclone, value: REDACTED } })}\n\n`;
    assert.equal(body, redacted + redacted);
  });

  it('passes other bodies as they are', async () => {
    const page = `<pre>${secretJson}</pre>`;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    });
    assert.equal(await (await fetch(url)).text(), page);
  });
});
