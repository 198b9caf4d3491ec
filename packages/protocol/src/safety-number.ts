/**
 * Safety numbers (Part B 11): 60 digits two people compare (in person, on a
 * call) to know that each holds the other's real signing key. Both sides
 * compute the same number.
 *
 * Per user: round 1 hashes 0x0000 ‖ key ‖ UTF-8(lowercase username) ‖ key with
 * SHA-512, every later round hashes previous ‖ key, 5,200 rounds in all; the
 * first 30 bytes as six 5-byte big-endian numbers, each mod 100,000, as five
 * digits. The two 30-digit halves sorted and joined, shown in groups of five.
 * The key is the signing key of the user's first version that has one
 * (`KeyChain.firstSigningKey`).
 *
 * @example
 * await safetyNumber({ username: 'alice', signingPublicKey: a }, { username: 'bob', signingPublicKey: b });
 * // '13091 32294 92263 76313 26174 49443 42493 13209 61591 80933 39727 51357' (RFC 8032 keys 1 and 2)
 */
import { lowercaseUsername } from './canonical.ts';
import { decodeBase64, utf8Encode } from './codec.ts';
import { SIGNING_PUBLIC_KEY_BYTES } from './signing.ts';

export const SAFETY_NUMBER_ROUNDS = 5_200;

export interface SafetyNumberParty {
  username: string;
  /** base64 of the 32-byte Ed25519 public key of the user's first version with a signing key. */
  signingPublicKey: string;
}

/** One user's 30 digits. */
export async function safetyNumberHalf(party: SafetyNumberParty): Promise<string> {
  const key = decodeBase64(party.signingPublicKey);
  if (key.length !== SIGNING_PUBLIC_KEY_BYTES) throw new Error(`a signing public key is ${SIGNING_PUBLIC_KEY_BYTES} bytes, not ${key.length}`);
  const name = utf8Encode(lowercaseUsername(party.username));
  const first = concat(new Uint8Array(2), key, name, key);
  let digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-512', first));
  // previous (64 bytes) ‖ key, rewritten in place each round
  const round = new Uint8Array(64 + key.length);
  round.set(key, 64);
  for (let i = 1; i < SAFETY_NUMBER_ROUNDS; i++) {
    round.set(digest, 0);
    digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-512', round));
  }
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    for (const byte of digest.subarray(chunk * 5, chunk * 5 + 5)) value = value * 256 + byte; // < 2^40: exact in a double
    digits += String(value % 100_000).padStart(5, '0');
  }
  return digits;
}

/** The 60-digit safety number of two users, in twelve groups of five digits separated by single spaces. */
export async function safetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): Promise<string> {
  const halves = [await safetyNumberHalf(a), await safetyNumberHalf(b)].sort();
  return halves.join('').replace(/\d{5}(?=\d)/g, '$& ');
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
