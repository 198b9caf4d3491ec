/**
 * A send's idempotency digest (API B10) names its recipient as the store
 * compares names: ASCII case is ignored, every other character is kept, so
 * a retry of one send to two different people is a 409, never the first
 * person's message answered again.
 */
import { describe, expect, it } from 'vitest';
import { plaintextSendDigest } from '../src/domain/send-digest.ts';

const shape = (recipient: string) => plaintextSendDigest({ recipient, textBytes: 5, attachmentBytes: 0 });

describe('send digest', () => {
  it('is the same for a recipient written in another ASCII case', () => {
    expect(shape('BoB')).toBe(shape('bob'));
  });

  it('tells apart imported names that differ only in a non-ASCII letter, or that fold to an ASCII name', () => {
    expect(shape('Äda')).not.toBe(shape('äda'));
    expect(shape('\u212Aate')).not.toBe(shape('kate')); // Kelvin sign: toLowerCase would make it "kate"
  });
});
