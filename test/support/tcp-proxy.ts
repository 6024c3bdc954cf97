/**
 * A TCP proxy on a free loopback port that forwards to a target (Redis) and can cut the network
 * the way it fails in production, while both ends stay up:
 *
 * - `cut('reset')`: every current connection is reset (RST) and new ones are reset as soon as they
 *   are accepted: the client sees ECONNRESET at once and fails fast.
 * - `cut('blackhole')`: a partition. Nothing is closed: bytes sent either way on current
 *   connections, and new connections (accepted, never forwarded), go nowhere and get no answer, so
 *   the client's commands hang until its own timeouts fire.
 *
 * `restore()` heals it: new connections are forwarded again and, after a blackhole, what was held
 * back is delivered (as TCP retransmits once a partition heals) and the held connections are
 * forwarded. `restore('lose')` heals it for new connections only: those the blackhole held stay
 * silent for good, as when a NAT or conntrack entry was lost meanwhile (the peer is not told, and
 * TCP takes many minutes to give up).
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export type CutMode = 'reset' | 'blackhole';

export interface TcpProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Cuts the network (see the module comment); a second cut replaces the first's mode. */
  cut(mode: CutMode): void;
  /** Forwards again: what a blackhole held is delivered (`'deliver'`) or lost for good. */
  restore(held?: 'deliver' | 'lose'): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** One client connection and its upstream, with what a blackhole held back in either direction. */
interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
  /** Held by a blackhole that was healed with `restore('lose')`: it never carries a byte again. */
  lost: boolean;
}

/** Starts a proxy on 127.0.0.1:<free port> to `target` and resolves once it listens. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: CutMode | 'open' = 'open';
  const pairs = new Set<Pair>();

  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const connectUpstream = (pair: Pair) => {
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('data', (chunk: Buffer) => {
      if (pair.lost) return;
      if (mode === 'open') pair.client.write(chunk);
      else pair.toClient.push(chunk);
    });
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      drop(pair);
    });
  };

  const server = createServer((client) => {
    if (mode === 'reset') {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const pair: Pair = { client, upstream: undefined, toUpstream: [], toClient: [], lost: false };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (pair.lost) return;
      if (mode === 'open' && pair.upstream) pair.upstream.write(chunk);
      else pair.toUpstream.push(chunk);
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      drop(pair);
    });
    if (mode === 'open') connectUpstream(pair);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');

  return {
    port: address.port,
    cut: (how) => {
      mode = how;
      if (how === 'reset') {
        for (const pair of [...pairs]) {
          pairs.delete(pair);
          pair.client.resetAndDestroy();
          pair.upstream?.destroy();
        }
      }
    },
    restore: (held = 'deliver') => {
      const blackholed = mode === 'blackhole';
      mode = 'open';
      for (const pair of pairs) {
        if (blackholed && held === 'lose') {
          pair.lost = true;
          pair.toUpstream.length = 0;
          pair.toClient.length = 0;
          continue;
        }
        if (!pair.upstream) connectUpstream(pair);
        for (const chunk of pair.toUpstream.splice(0)) pair.upstream?.write(chunk);
        for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
      }
    },
    close: async () => {
      for (const pair of [...pairs]) drop(pair);
      server.close();
      await once(server, 'close');
    },
  };
}
