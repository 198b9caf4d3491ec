/**
 * Login password hashing (Argon2id, OWASP parameters) and session tokens.
 * Argon2 runs on the heavy-crypto threads (heavy-pool.ts), off the event loop.
 */
import type { Algorithm } from '@node-rs/argon2';
import { hash, randomBytes } from 'node:crypto';
import { runHeavy } from './heavy-pool.ts';

/** OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1. */
// `Algorithm` is an ambient const enum (not importable as a value); 2 is Argon2id.
const ARGON2_OPTIONS = { algorithm: 2 as Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return runHeavy('argon2Hash', { password, options: ARGON2_OPTIONS });
}

export async function verifyPassword(phcHash: string, password: string): Promise<boolean> {
  try {
    return await runHeavy('argon2Verify', { hash: phcHash, password });
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same time as verifying a real password, for unknown usernames,
 * so login timing does not reveal which accounts exist.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
  return false;
}

/** A new session token: 32 random bytes as hex. Only its SHA-256 is stored. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

export function hashToken(token: string): string {
  return hash('sha256', token, 'hex'); // one-shot: no Hash object per request
}
