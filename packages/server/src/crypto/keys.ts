/**
 * RSA key pairs and their password envelopes, on node:crypto.
 * Key generation and PBKDF2 run on the heavy-crypto threads (heavy-pool.ts),
 * so a registration never blocks the event loop. Same format as
 * packages/protocol/src/envelope.ts.
 */
import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { asBuffer } from '../shared-buffer.ts';
import { runHeavy } from './heavy-pool.ts';

export const ENVELOPE_SALT_BYTES = 16;
export const NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

export interface RsaKeyPair {
  publicKey: string;
  privateKey: string;
}

export interface SealedPrivateKey {
  encrypted_private_key: string;
  private_key_nonce: string;
  private_key_salt: string;
  private_key_iterations: number;
}

export async function generateRsaKeyPair(modulusLength: number): Promise<RsaKeyPair> {
  return runHeavy('rsaKeyPair', { modulusLength });
}

/** `flow`: see heavy-pool.ts's runHeavy; one per request that opens or seals many envelopes. */
async function deriveEnvelopeKey(password: string, salt: Buffer, iterations: number, flow?: object): Promise<Buffer> {
  const key = await runHeavy('pbkdf2', { password: Buffer.from(password, 'utf8'), salt, iterations, keyLength: 32 }, flow);
  return asBuffer(key);
}

export async function sealPrivateKey(privateKeyPem: string, password: string, iterations: number, flow?: object): Promise<SealedPrivateKey> {
  const salt = randomBytes(ENVELOPE_SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await deriveEnvelopeKey(password, salt, iterations, flow);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const sealed = Buffer.concat([cipher.update(privateKeyPem, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    encrypted_private_key: sealed.toString('base64'),
    private_key_nonce: nonce.toString('base64'),
    private_key_salt: salt.toString('base64'),
    private_key_iterations: iterations,
  };
}

/** Opens an envelope; returns null when the password does not open it. */
export async function openEnvelope(envelope: SealedPrivateKey, password: string, flow?: object): Promise<string | null> {
  const key = await deriveEnvelopeKey(password, Buffer.from(envelope.private_key_salt, 'base64'), envelope.private_key_iterations, flow);
  const sealed = Buffer.from(envelope.encrypted_private_key, 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.private_key_nonce, 'base64'));
    decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

export function parsePublicKey(publicKeyPem: string): KeyObject {
  return createPublicKey(publicKeyPem);
}
