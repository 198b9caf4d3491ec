/**
 * Part B 11: a send's signature is verified by verifyOnPool — on the event
 * loop since libsodium made a verify cheaper than the hop to a cipher thread
 * (cipher-pool.ts says why): no thread is involved, and none is needed.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cipherPoolCounts, stopCipherPool, verifyOnPool } from '../src/crypto/cipher-pool.ts';
import { ed25519PublicKey, verifyEd25519 } from '../src/crypto/ed25519.ts';

const pair = generateKeyPairSync('ed25519');
const signingPublicKey = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
const bytes = new TextEncoder().encode('securechat/msg/v1\nalice\nbob');
const signature = sign(null, bytes, pair.privateKey).toString('base64');

afterAll(() => stopCipherPool());

describe('signature verification of sends', () => {
  it('answers true for a good signature, false for a bad one or other bytes, without a cipher thread', async () => {
    const before = { ...cipherPoolCounts };
    expect(await verifyOnPool({ signingPublicKey, signature, bytes }, 3)).toBe(true);
    expect(await verifyOnPool({ signingPublicKey, signature, bytes: new TextEncoder().encode('other') }, 3)).toBe(false);
    const flipped = Buffer.from(signature, 'base64');
    flipped[10]! ^= 1;
    expect(await verifyOnPool({ signingPublicKey, signature: flipped.toString('base64'), bytes }, 3)).toBe(false);
    expect(cipherPoolCounts).toEqual(before); // no encryption counted, no thread asked
  });

  it('answers false, never an error, for malformed keys and signatures', async () => {
    const cases = [
      { signingPublicKey: 'not base64', signature, bytes },
      { signingPublicKey: Buffer.alloc(31).toString('base64'), signature, bytes },
      { signingPublicKey, signature: Buffer.alloc(63).toString('base64'), bytes },
      { signingPublicKey, signature: 'QUJD$$$$', bytes },
    ];
    for (const check of cases) expect(await verifyOnPool(check, 5)).toBe(false);
    expect(ed25519PublicKey('QUJD')).toBeNull();
    expect(verifyEd25519(null, bytes, signature)).toBe(false);
  });

  it("keeps one sender's checks in order, and works with the cipher pool stopped", async () => {
    await stopCipherPool();
    const checks = Array.from({ length: 50 }, (_, i) => verifyOnPool({ signingPublicKey, signature, bytes: i % 2 ? bytes : new Uint8Array([i]) }, 9));
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 50 }, (_, i) => i % 2 === 1));
    expect(await verifyOnPool({ signingPublicKey, signature, bytes }, 9)).toBe(true);
  });
});
