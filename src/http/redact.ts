/**
 * Secrets never leave the process through the HTTP port. Of everything the scheduler holds, the
 * API (proto/mlops/scheduler/scheduler.proto) has one secret: a model's
 * `storageConfig.storageRcloneConfig`, an rclone config with the storage credentials inline
 * (`storageSecretName` only names a Kubernetes Secret and stays).
 *
 * Every response of the HTTP port is a {@link RedactingResponse}: the JSON bodies and server-sent
 * events any view writes pass through {@link redactJsonText} on their way out, so a view cannot
 * forget it. The secret's value becomes `"[redacted]"` and its key stays, so a reader sees that a
 * config exists. The gRPC API keeps returning definitions whole (as Seldon's scheduler does): the
 * operator and the agents need them.
 */
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';

export const REDACTED = '[redacted]';

/** Seen in any text that may hold a secret; text without it is passed on untouched (cheap). */
const MARKER = /rclone[_-]?config/i;

/** `snake_case`, `kebab-case` and `camelCase` spellings of a name compare equal. */
const normal = (name: string) => name.toLowerCase().replace(/[_-]/g, '');

/**
 * Names of the secret, normalised: as a key (proto JSON's `storageRcloneConfig`), and as the
 * discriminant of a `{ kind | $case, value }` pair (the domain's `storageConfig: { kind:
 * 'rcloneConfig', value }`, ts-proto's oneof `{ $case: 'storageRcloneConfig', value }`).
 */
const SECRETS = new Set(['storagercloneconfig', 'rcloneconfig']);

/** Replaces every secret in the parsed JSON `value` in place; whether it replaced any. */
export function redactSecrets(value: unknown): boolean {
  if (Array.isArray(value)) {
    let changed = false;
    for (const item of value) changed = redactSecrets(item) || changed;
    return changed;
  }
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  let changed = false;
  const discriminant = o['kind'] ?? o['$case'];
  if (
    typeof discriminant === 'string' &&
    SECRETS.has(normal(discriminant)) &&
    'value' in o &&
    o['value'] !== REDACTED
  ) {
    o['value'] = REDACTED;
    changed = true;
  }
  for (const [key, v] of Object.entries(o)) {
    if (SECRETS.has(normal(key))) {
      if (v !== REDACTED && v !== null && v !== undefined) {
        o[key] = REDACTED;
        changed = true;
      }
    } else {
      changed = redactSecrets(v) || changed;
    }
  }
  return changed;
}

/** Said in place of a JSON body that mentions a secret but cannot be parsed to redact it. */
const WITHHELD = JSON.stringify({
  error: 'this answer was withheld: it could not be checked for secrets',
});

/**
 * `text` (a JSON document) with its secrets redacted: the same text when it has none, else
 * re-serialised (indented by two spaces if it was indented). Fails closed: JSON that mentions a
 * secret and does not parse is replaced whole.
 */
export function redactJsonText(text: string): string {
  if (!MARKER.test(text)) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return WITHHELD;
  }
  if (!redactSecrets(value)) return text;
  return JSON.stringify(value, null, text.includes('\n') ? 2 : undefined);
}

/**
 * Server-sent events (`text`: whole events, each ending with a blank line) with the JSON of their
 * `data:` lines redacted. An event with a secret is re-sent with its data on one line.
 */
export function redactEventsText(text: string): string {
  if (!MARKER.test(text)) return text;
  return text
    .split('\n\n')
    .map((event) => {
      const lines = event.split('\n');
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!MARKER.test(data)) return event;
      // Valid JSON now (parsed, or withheld): one line, as an event's data must be.
      const json = JSON.stringify(JSON.parse(redactJsonText(data)));
      return [...lines.filter((l) => !l.startsWith('data:')), `data: ${json}`].join('\n');
    })
    .join('\n\n');
}

type Body = 'json' | 'events' | 'other';

function bodyOf(contentType: unknown): Body {
  const type = (typeof contentType === 'string' ? contentType : '')
    .toLowerCase()
    .split(';')[0]
    ?.trim();
  if (type === 'text/event-stream') return 'events';
  return type === 'application/json' || type?.endsWith('+json') ? 'json' : 'other';
}

/** The content type among `writeHead`'s headers (an object, or a flat array of names and values). */
function contentTypeIn(headers: OutgoingHttpHeaders | readonly unknown[] | undefined): unknown {
  if (headers === undefined) return undefined;
  if (Array.isArray(headers)) {
    const i = headers.findIndex(
      (h, n) => n % 2 === 0 && String(h).toLowerCase() === 'content-type',
    );
    return i < 0 ? undefined : headers[i + 1];
  }
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type');
  return entry?.[1];
}

type Callback = (error?: Error | null) => void;

function toBuffer(chunk: unknown, encoding: BufferEncoding | undefined): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  return chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.alloc(0);
}

/**
 * The response of every request on the HTTP port (`createServer({ ServerResponse })`): bodies typed
 * `application/json` are collected and redacted when they end; `text/event-stream` bodies are
 * redacted event by event; anything else (the page, scripts, SVG, metrics) passes as it is.
 */
export class RedactingResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  private body: Body | undefined;
  private readonly json: Buffer[] = [];
  /** Characters split between chunks wait here for the rest of their bytes. */
  private readonly decoder = new StringDecoder('utf8');
  /** The start of an event whose end has not been written yet. */
  private partialEvent = '';

  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders | unknown[],
    headers?: OutgoingHttpHeaders | unknown[],
  ): this {
    const given = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    this.body = bodyOf(contentTypeIn(given) ?? this.getHeader('content-type'));
    return typeof messageOrHeaders === 'string'
      ? super.writeHead(statusCode, messageOrHeaders, headers as OutgoingHttpHeaders)
      : super.writeHead(statusCode, messageOrHeaders as OutgoingHttpHeaders);
  }

  /** What this body is: known once the head is written, else what its headers say so far. */
  private kind(): Body {
    return this.body ?? bodyOf(this.getHeader('content-type'));
  }

  override write(
    chunk: unknown,
    encodingOrCallback?: BufferEncoding | Callback,
    callback?: Callback,
  ): boolean {
    const encoding = typeof encodingOrCallback === 'string' ? encodingOrCallback : undefined;
    const cb = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    switch (this.kind()) {
      case 'json':
        this.json.push(toBuffer(chunk, encoding));
        if (cb) process.nextTick(cb);
        return true;
      case 'events': {
        const text = this.partialEvent + this.decoder.write(toBuffer(chunk, encoding));
        const cut = text.lastIndexOf('\n\n');
        const end = cut < 0 ? 0 : cut + 2;
        this.partialEvent = text.slice(end);
        return super.write(redactEventsText(text.slice(0, end)), 'utf8', cb);
      }
      case 'other':
        return encoding === undefined ? super.write(chunk, cb) : super.write(chunk, encoding, cb);
    }
  }

  override end(
    chunkOrCallback?: unknown,
    encodingOrCallback?: BufferEncoding | (() => void),
    callback?: () => void,
  ): this {
    const chunk = typeof chunkOrCallback === 'function' ? undefined : chunkOrCallback;
    const encoding = typeof encodingOrCallback === 'string' ? encodingOrCallback : undefined;
    const cb =
      typeof chunkOrCallback === 'function'
        ? (chunkOrCallback as () => void)
        : typeof encodingOrCallback === 'function'
          ? encodingOrCallback
          : callback;
    const kind = this.kind();
    if (kind === 'other') {
      if (chunk === undefined || chunk === null) return cb ? super.end(cb) : super.end();
      return encoding === undefined ? super.end(chunk, cb) : super.end(chunk, encoding, cb);
    }
    const last = chunk === undefined || chunk === null ? [] : [toBuffer(chunk, encoding)];
    const text =
      kind === 'json'
        ? redactJsonText(Buffer.concat([...this.json, ...last]).toString('utf8'))
        : redactEventsText(
            this.partialEvent + this.decoder.write(Buffer.concat(last)) + this.decoder.end(),
          );
    return super.end(text, 'utf8', cb);
  }
}
