/** Strict base64: the server's fast check agrees with the reference definition. */
import { describe, expect, it } from 'vitest';
import vectors from '../../protocol/test/vectors/vectors.json' with { type: 'json' };
import { decodeStrictBase64 } from '../src/crypto/base64.ts';

/** RFC 4648 §4 with padding, canonical: the alphabet regex plus an exact round trip. */
function reference(text: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) && Buffer.from(text, 'base64').toString('base64') === text;
}

describe('decodeStrictBase64', () => {
  it('decodes the shared vectors and refuses the invalid ones', () => {
    for (const [text, hex] of vectors.base64.valid) expect(decodeStrictBase64(text!)?.toString('hex')).toBe(hex);
    for (const text of [...vectors.base64.invalid, 'QU=D', 'QUJDéQUJD', 'QU JD', 'QUJD\r\n', 'A===', '====']) {
      expect(decodeStrictBase64(text), JSON.stringify(text)).toBeNull();
    }
  });

  it('agrees with the reference on 20,000 random strings of tricky characters', () => {
    const alphabet = 'ABCab+/=-_$ \n0é';
    for (let i = 0; i < 20_000; i++) {
      const length = 4 * (1 + Math.floor(Math.random() * 3));
      const text = Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
      expect(decodeStrictBase64(text) !== null, JSON.stringify(text)).toBe(reference(text));
    }
  });
});
