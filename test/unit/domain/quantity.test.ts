/** `--memory` of `mlsched agent`: Kubernetes quantities to bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMemoryQuantity } from '../../../src/domain/quantity.js';

describe('parseMemoryQuantity', () => {
  it('reads binary and decimal suffixes', () => {
    const cases: [string, number][] = [
      ['1Gi', 2 ** 30],
      ['512Mi', 512 * 2 ** 20],
      ['1Ki', 1024],
      ['2Ti', 2 * 2 ** 40],
      ['100M', 100e6],
      ['2G', 2e9],
      ['1500k', 1.5e6],
      ['1T', 1e12],
      ['1P', 1e15],
      ['4Pi', 4 * 2 ** 50],
      ['123', 123],
      ['0', 0],
    ];
    for (const [q, bytes] of cases) assert.equal(parseMemoryQuantity(q), bytes, q);
  });

  it('reads decimal exponents and fractions, rounding up to whole bytes', () => {
    assert.equal(parseMemoryQuantity('1e3'), 1000);
    assert.equal(parseMemoryQuantity('1E3'), 1000);
    assert.equal(parseMemoryQuantity('2.5e6'), 2_500_000);
    assert.equal(parseMemoryQuantity('1e+3'), 1000);
    assert.equal(parseMemoryQuantity('0.5Gi'), 2 ** 29);
    assert.equal(parseMemoryQuantity('1.5Mi'), 1.5 * 2 ** 20);
    assert.equal(parseMemoryQuantity('.5k'), 500);
    assert.equal(parseMemoryQuantity('1.1'), 2);
    assert.equal(parseMemoryQuantity('15e-1'), 2);
  });

  it('accepts surrounding blanks and an explicit plus sign', () => {
    assert.equal(parseMemoryQuantity(' 1Gi '), 2 ** 30);
    assert.equal(parseMemoryQuantity('+1Gi'), 2 ** 30);
    assert.equal(parseMemoryQuantity('-0'), 0);
  });

  it('refuses what is not a quantity, naming the value', () => {
    const bad = [
      '',
      ' ',
      'Gi',
      'lots',
      '1GB',
      '1gi',
      '1K',
      '1 Gi',
      '1.5.2',
      'e3',
      '1e',
      '1e3Gi',
      '0x10',
      'Infinity',
      'NaN',
      '1,5Gi',
    ];
    for (const q of bad) {
      assert.throws(
        () => parseMemoryQuantity(q),
        (e: Error) =>
          e.message.includes(`'${q}'`) && e.message.includes('is not a memory quantity'),
        `'${q}'`,
      );
    }
  });

  it('refuses negative and too large quantities, naming the value', () => {
    assert.throws(() => parseMemoryQuantity('-1Gi'), /memory quantity '-1Gi' is negative/);
    assert.throws(() => parseMemoryQuantity('-5'), /'-5' is negative/);
    assert.throws(() => parseMemoryQuantity('10Ei'), /'10Ei' is too large/);
    assert.throws(() => parseMemoryQuantity('1E'), /'1E' is too large/);
    assert.throws(() => parseMemoryQuantity('1e400'), /'1e400' is too large/);
  });
});
