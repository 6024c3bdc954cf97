/**
 * The line framing shared by the file store's snapshots and logs: one JSON document per line,
 * prefixed by the CRC-32 of its UTF-8 bytes, `<8 lowercase hex digits> <json>\n`.
 *
 * A frame is valid only when it is complete (ends in `\n`) and its checksum matches, so a torn or
 * partly zeroed write (what a crash or power cut leaves at the end of an append) is recognised and
 * everything from it on is ignored. JSON never contains a raw newline (`JSON.stringify` escapes it
 * inside strings and adds no whitespace), so a newline always ends a frame.
 */
import zlib from 'node:zlib';

/** Bytes a frame adds around its JSON: 8 hex digits, a space and the newline. */
const OVERHEAD = 10;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const HEX = /^[0-9a-f]{8}$/;

type Crc32 = (data: Uint8Array) => number;

/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial). Node ships it natively as `zlib.crc32` from 20.15;
 * on an older Node 20 a 256-entry table does the same (about 10x slower, still far faster than the
 * fsync it guards). A CRC rather than a cryptographic hash: it detects every torn tail and burst
 * error of up to 32 bits, costs one pass and no allocation, and nothing here defends against an
 * adversary who can write the store's files anyway.
 */
export const crc32: Crc32 = nativeCrc32() ?? tableCrc32;

function nativeCrc32(): Crc32 | undefined {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  return native === undefined ? undefined : (data) => native(data);
}

let table: Uint32Array | undefined;

/** The table-driven CRC-32, exported so tests can check it against the native one. */
export function tableCrc32(data: Uint8Array): number {
  table ??= makeTable();
  let crc = 0xffffffff;
  for (const byte of data) {
    crc = (table[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Frames one JSON text (which must contain no raw newline, as `JSON.stringify` guarantees). */
export function encodeFrame(json: string): Buffer {
  const size = Buffer.byteLength(json);
  const frame = Buffer.allocUnsafe(size + OVERHEAD);
  frame.write(json, 9, 'utf8');
  const crc = crc32(frame.subarray(9, 9 + size));
  frame.write(crc.toString(16).padStart(8, '0'), 0, 'latin1');
  frame[8] = SPACE;
  frame[size + 9] = NEWLINE;
  return frame;
}

/** One valid frame found by {@link scanFrames}: its JSON text and the byte range it occupies. */
export interface Frame {
  readonly json: string;
  readonly start: number;
  readonly end: number;
}

/** What {@link scanFrames} found: the valid frames, in order, and where the valid prefix ends. */
export interface ScanResult {
  readonly frames: Frame[];
  /** Length of the prefix made of valid frames; anything after it is torn or corrupt. */
  readonly validEnd: number;
}

/** Reads frames from the start of `buf` up to the first incomplete or corrupt one. */
export function scanFrames(buf: Buffer): ScanResult {
  const frames: Frame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(NEWLINE, pos);
    if (nl < 0 || nl - pos < OVERHEAD || buf[pos + 8] !== SPACE) break;
    const hex = buf.toString('latin1', pos, pos + 8);
    if (!HEX.test(hex) || Number.parseInt(hex, 16) !== crc32(buf.subarray(pos + 9, nl))) break;
    frames.push({ json: buf.toString('utf8', pos + 9, nl), start: pos, end: nl + 1 });
    pos = nl + 1;
  }
  return { frames, validEnd: pos };
}
