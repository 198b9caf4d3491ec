/**
 * Part B 11: the server's Ed25519 verification (libsodium through
 * sodium-native, crypto/ed25519.ts) accepts what honest signers make — the
 * protocol package's vectors (made with Python's cryptography) and RFC 8032 —
 * and refuses malformed input, other bytes, malleated and small-order
 * signatures, without ever throwing.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import v from '../../protocol/test/vectors/signatures.json' with { type: 'json' };
import { ed25519PublicKey, verifyEd25519 } from '../src/crypto/ed25519.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
/** The order of the Ed25519 base point. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function flipBit(base64: string, byte: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[byte]! ^= 1;
  return bytes.toString('base64');
}

describe('Ed25519 verification (libsodium)', () => {
  it("verifies the protocol's key-link and message vectors, and nothing else", () => {
    const cases = [v.key_link, ...v.messages].map((c) => ({ key: c.signer_public_key, bytes: utf8(c.bytes_utf8), signature: c.signature }));
    for (const { key, bytes, signature } of cases) {
      expect(verifyEd25519(ed25519PublicKey(key), bytes, signature)).toBe(true);
      expect(verifyEd25519(ed25519PublicKey(key), bytes.subarray(1), signature)).toBe(false);
      expect(verifyEd25519(ed25519PublicKey(key), bytes, flipBit(signature, 5))).toBe(false);
      expect(verifyEd25519(ed25519PublicKey(key), bytes, flipBit(signature, 40))).toBe(false);
      expect(verifyEd25519(ed25519PublicKey(flipBit(key, 3)), bytes, signature)).toBe(false);
    }
    // Another signer's key.
    expect(v.messages[0]!.signer_public_key).not.toBe(v.key_link.signer_public_key);
    expect(verifyEd25519(ed25519PublicKey(v.messages[0]!.signer_public_key), utf8(v.key_link.bytes_utf8), v.key_link.signature)).toBe(false);
  });

  it('verifies RFC 8032 test 1 (the empty message)', () => {
    const key = ed25519PublicKey(b64(Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')));
    const signature = b64(Buffer.from('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b', 'hex'));
    expect(verifyEd25519(key, new Uint8Array(0), signature)).toBe(true);
  });

  it("verifies node:crypto's signatures over any bytes, including views into larger buffers", () => {
    const pair = generateKeyPairSync('ed25519');
    const key = ed25519PublicKey(Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64'));
    const big = randomBytes(5000);
    const view = big.subarray(100, 4100);
    const signature = sign(null, view, pair.privateKey).toString('base64');
    expect(verifyEd25519(key, view, signature)).toBe(true);
    expect(verifyEd25519(key, new Uint8Array(view), signature)).toBe(true);
    expect(verifyEd25519(key, big.subarray(101, 4101), signature)).toBe(false);
  });

  it('refuses a malleated signature (S + L): only the canonical S verifies', () => {
    const signature = Buffer.from(v.key_link.signature, 'base64');
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
    let malleated = s + L;
    expect(malleated < 2n ** 256n).toBe(true);
    for (let i = 32; i < 64; i++, malleated >>= 8n) signature[i] = Number(malleated & 0xffn);
    expect(verifyEd25519(ed25519PublicKey(v.key_link.signer_public_key), utf8(v.key_link.bytes_utf8), signature.toString('base64'))).toBe(false);
  });

  it('refuses a small-order key and R: the identity "signs" every message under a cofactorless check, never here', () => {
    const identity = Buffer.alloc(32);
    identity[0] = 1; // the neutral point: y = 1
    const signature = b64(Buffer.concat([identity, Buffer.alloc(32)])); // R = identity, S = 0
    const key = ed25519PublicKey(b64(identity));
    expect(key).not.toBeNull(); // 32 bytes are accepted as a key (as before), it just verifies nothing
    expect(verifyEd25519(key, utf8('anything'), signature)).toBe(false);
    expect(verifyEd25519(key, utf8('something else'), signature)).toBe(false);
  });

  it('answers null or false, never throws, for malformed keys and signatures', () => {
    const key = ed25519PublicKey(v.key_link.signer_public_key);
    const bytes = utf8(v.key_link.bytes_utf8);
    const good = v.key_link.signature;
    expect(key).toHaveLength(32);
    for (const text of ['', 'QUJD', b64(Buffer.alloc(31)), b64(Buffer.alloc(33)), `-${v.key_link.signer_public_key.slice(1)}`, v.key_link.signer_public_key.slice(0, -1), ` ${v.key_link.signer_public_key}`]) {
      expect(ed25519PublicKey(text)).toBeNull();
    }
    expect(verifyEd25519(null, bytes, good)).toBe(false);
    expect(verifyEd25519(new Uint8Array(31), bytes, good)).toBe(false);
    for (const signature of ['', 'QUJD$$$$', b64(Buffer.alloc(63)), b64(Buffer.alloc(65)), good.replace(/=+$/, ''), `${good} `, good.replace(/\+/g, '-').replace(/\//g, '_')]) {
      if (signature === good) continue;
      expect(verifyEd25519(key, bytes, signature)).toBe(false);
    }
    expect(verifyEd25519(key, bytes, b64(Buffer.alloc(64)))).toBe(false);
  });
});
