import { randomBytes } from 'node:crypto';

let xidCounter = randomBytes(3).readUIntBE(0, 3);
const XID_MACHINE = randomBytes(5);
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** A 20-character id in the shape of Seldon's xids: seconds, 5 random bytes, a counter, base32hex. */
export function newXid(): string {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
  XID_MACHINE.copy(b, 4);
  xidCounter = (xidCounter + 1) & 0xffffff;
  b.writeUIntBE(xidCounter, 9, 3);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out + BASE32HEX.charAt((value << (5 - bits)) & 31);
}
