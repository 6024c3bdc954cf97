/**
 * The schedulers a simulator may talk to (`--scheduler-host h1,h2:p2,...`): with `serve --ha`
 * only the leader answers, the standbys refuse every call with UNAVAILABLE. The simulator follows
 * one address at a time and moves on to the next, round robin, when it is refused or gone.
 */
import type { Client } from '@grpc/grpc-js';

/**
 * The addresses of a `--scheduler-host` list: comma-separated entries `HOST` (with `defaultPort`,
 * the `--agent-port` / `--dataflow-port`), `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT` (an IPv6 address
 * without brackets takes `defaultPort`). Blanks around entries are ignored and repeats dropped.
 * @throws Error naming the entry when one is empty or its port is not 1..65535.
 */
export function parseSchedulerAddresses(list: string, defaultPort: number): string[] {
  const out: string[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    const m =
      /^\[([^\]\s]+)\](?::(\d+))?$/.exec(entry) ??
      /^([^:\s[\]]+)(?::(\d+))?$/.exec(entry) ??
      /^([0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)()$/.exec(entry);
    const host = m?.[1];
    const port = m?.[2] ? Number(m[2]) : defaultPort;
    if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(
        `--scheduler-host: '${entry}' in '${list}' must be HOST or HOST:PORT (comma-separated)`,
      );
    }
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

/** One scheduler address of a {@link SchedulerTargets} and its client. */
export interface Target<C extends Client> {
  /** Its position in the list. */
  readonly index: number;
  readonly address: string;
  readonly client: C;
}

/**
 * The scheduler addresses a simulator follows, with a client (channel) for each, made when first
 * used. Every stream and call of the simulator goes to {@link current} when it (re)starts; the
 * first to find it refusing or gone moves everyone on with {@link moveOn}.
 */
export class SchedulerTargets<C extends Client> {
  private readonly clients = new Map<number, C>();
  private at = 0;

  /** @throws Error when `addresses` is empty. */
  constructor(
    readonly addresses: readonly string[],
    private readonly make: (address: string) => C,
  ) {
    if (addresses.length === 0) throw new Error('--scheduler-host: no scheduler address');
  }

  /** How many addresses there are. */
  get size(): number {
    return this.addresses.length;
  }

  /** The address followed now, and its client. */
  current(): Target<C> {
    const index = this.at;
    const address = this.addresses[index] ?? '';
    let client = this.clients.get(index);
    if (!client) {
      client = this.make(address);
      this.clients.set(index, client);
    }
    return { index, address, client };
  }

  /**
   * The scheduler at `index` refused (UNAVAILABLE) or is gone: follow the next address unless
   * someone has moved on already. Returns whether the address followed now is another one (never
   * with a single address).
   */
  moveOn(index: number): boolean {
    if (this.at === index && this.size > 1) this.at = (index + 1) % this.size;
    return this.at !== index;
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
