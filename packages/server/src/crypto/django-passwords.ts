/**
 * Password hashes of the original Django backend (`npm run import-original`
 * keeps them), verified with node:crypto and @node-rs/argon2, so imported
 * accounts log in with the passwords they had; on the first success the
 * domain replaces the hash with our Argon2id one (domain/accounts.ts).
 *
 * | Django hasher (`algorithm$…`) | here |
 * | --- | --- |
 * | `pbkdf2_sha256$<iterations>$<salt>$<base64>` (Django's default) | PBKDF2-HMAC-SHA256, any iteration count up to MAX_PBKDF2_ITERATIONS |
 * | `pbkdf2_sha1$…` | PBKDF2-HMAC-SHA1, likewise |
 * | `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>` | the same string without `argon2` is a PHC string: @node-rs/argon2, parameters capped |
 * | `scrypt$<N>$<salt>$<r>$<p>$<base64>` | node:crypto scrypt, 64-byte output, memory capped |
 * | `md5$<salt>$<hex>`, `sha1$<salt>$<hex>`, their unsalted forms | node:crypto digests (weak: replaced at the first login) |
 * | `bcrypt_sha256$…`, `bcrypt$…`, `crypt$…` | not verifiable: no bcrypt library is installed, and node:crypto has none |
 * | `!…` (unusable password), empty, anything else | not verifiable |
 *
 * Rules: every comparison is constant-time (crypto.timingSafeEqual); PBKDF2
 * and scrypt run asynchronously on libuv's threads and Argon2 on the
 * heavy-crypto pool, never on the event loop; a hash that cannot be
 * verified costs a dummy Argon2 verification, as an unknown user does, so a
 * refusal does not come back faster than a wrong password.
 *
 * @example
 * describeDjangoHash('bcrypt_sha256$$2b$12$…') // { algorithm: 'bcrypt_sha256', usable: false, reason: '…' }
 * await verifyDjangoPassword('pbkdf2_sha256$390000$salt$…', 'the password') // true or false
 */
import { createHash, pbkdf2, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeStrictBase64 } from './base64.ts';
import { verifyAgainstDummy, verifyPassword } from './secrets.ts';

/** About 0.4 s of one core here; Django 6.0's default is 1,200,000. Above it a login would be a denial-of-service lever. */
export const MAX_PBKDF2_ITERATIONS = 2_000_000;
/** Argon2 limits: memory (KiB), passes, lanes. Django's defaults are m=102400, t=2, p=8. */
export const MAX_ARGON2 = { memoryKiB: 262_144, passes: 10, lanes: 64 } as const;
/** scrypt's memory (128 · N · r · p bytes). Django's defaults (N=2^14, r=8, p=1) need 16 MiB. */
export const MAX_SCRYPT_BYTES = 128 * 1024 * 1024;

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions) => Promise<Buffer>;

type Parsed =
  | { kind: 'pbkdf2'; algorithm: string; digest: 'sha256' | 'sha1'; iterations: number; salt: string; hash: Buffer }
  | { kind: 'argon2'; algorithm: string; phc: string }
  | { kind: 'scrypt'; algorithm: string; n: number; r: number; p: number; salt: string; hash: Buffer }
  | { kind: 'digest'; algorithm: string; digest: 'md5' | 'sha1'; salt: string; hex: string }
  | { kind: 'unusable'; algorithm: string; reason: string };

export type DjangoHashInfo = { algorithm: string; usable: true } | { algorithm: string; usable: false; reason: string };

/** Our own hashes are PHC strings (`$argon2id$…`); Django's start with their algorithm's name, or `!`. */
export function isDjangoHash(encoded: string): boolean {
  return !encoded.startsWith('$');
}

/** Which hasher made `encoded`, and whether this server can verify a password against it (why not, if not). */
export function describeDjangoHash(encoded: string): DjangoHashInfo {
  const parsed = parse(encoded);
  return parsed.kind === 'unusable' ? { algorithm: parsed.algorithm, usable: false, reason: parsed.reason } : { algorithm: parsed.algorithm, usable: true };
}

/** Whether `password` matches the Django hash; false (after as much work as a wrong password) for hashes that cannot be verified. */
export async function verifyDjangoPassword(encoded: string, password: string): Promise<boolean> {
  const parsed = parse(encoded);
  switch (parsed.kind) {
    case 'pbkdf2': {
      const derived = await pbkdf2Async(Buffer.from(password, 'utf8'), Buffer.from(parsed.salt, 'utf8'), parsed.iterations, parsed.hash.length, parsed.digest);
      return timingSafeEqual(derived, parsed.hash);
    }
    case 'scrypt': {
      const derived = await scryptAsync(Buffer.from(password, 'utf8'), Buffer.from(parsed.salt, 'utf8'), parsed.hash.length, {
        N: parsed.n,
        r: parsed.r,
        p: parsed.p,
        maxmem: 128 * parsed.n * parsed.r * parsed.p + 1024 * 1024,
      });
      return timingSafeEqual(derived, parsed.hash);
    }
    case 'argon2':
      return verifyPassword(parsed.phc, password);
    case 'digest': {
      const derived = createHash(parsed.digest).update(parsed.salt + password, 'utf8').digest();
      return timingSafeEqual(derived, Buffer.from(parsed.hex, 'hex'));
    }
    case 'unusable':
      return verifyAgainstDummy(password);
  }
}

const DIGEST_BYTES = { sha256: 32, sha1: 20, md5: 16 } as const;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

function parse(encoded: string): Parsed {
  if (typeof encoded !== 'string' || encoded === '') return unusable('none', 'no password was set');
  if (encoded.startsWith('!')) return unusable('unusable', 'the original marked its password unusable (a "!" hash): there is no password to log in with');
  // Django's UnsaltedMD5PasswordHasher also wrote bare hex digests.
  if (/^[0-9a-f]{32}$/.test(encoded)) return { kind: 'digest', algorithm: 'unsalted_md5', digest: 'md5', salt: '', hex: encoded };
  const algorithm = encoded.slice(0, Math.max(0, encoded.indexOf('$'))) || 'unknown';
  const parts = encoded.split('$');
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
      return parsePbkdf2(algorithm, parts);
    case 'argon2':
      return parseArgon2(encoded);
    case 'scrypt':
      return parseScrypt(parts);
    case 'md5':
    case 'sha1':
    case 'unsalted_md5':
    case 'unsalted_sha1':
      return parseDigest(algorithm, parts);
    case 'bcrypt_sha256':
    case 'bcrypt':
      return unusable(algorithm, `${algorithm} hash: this server cannot verify bcrypt (no bcrypt library is installed, and node:crypto has none), so the account cannot log in until its password is reset`);
    case 'crypt':
      return unusable(algorithm, 'crypt hash (Unix crypt(3)): this server cannot verify it, so the account cannot log in until its password is reset');
    default:
      return unusable(algorithm, 'not a password hash format this server knows, so the account cannot log in until its password is reset');
  }
}

function unusable(algorithm: string, reason: string): Parsed {
  return { kind: 'unusable', algorithm, reason };
}

function malformed(algorithm: string): Parsed {
  return unusable(algorithm, `malformed ${algorithm} hash, so the account cannot log in until its password is reset`);
}

function parsePbkdf2(algorithm: 'pbkdf2_sha256' | 'pbkdf2_sha1', parts: string[]): Parsed {
  if (parts.length !== 4) return malformed(algorithm);
  const [, iterationsText, salt, hashText] = parts as [string, string, string, string];
  const digest = algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1';
  const hash = decodeStrictBase64(hashText);
  if (!DECIMAL.test(iterationsText) || hash === null || hash.length !== DIGEST_BYTES[digest]) return malformed(algorithm);
  const iterations = Number(iterationsText);
  if (iterations > MAX_PBKDF2_ITERATIONS) {
    return unusable(
      algorithm,
      `${algorithm} with ${iterations.toLocaleString('en')} iterations, more than this server verifies (${MAX_PBKDF2_ITERATIONS.toLocaleString('en')}), so the account cannot log in until its password is reset`,
    );
  }
  return { kind: 'pbkdf2', algorithm, digest, iterations, salt, hash };
}

/** Django writes "argon2" + argon2-cffi's PHC string; older versions wrote no `v=` (version 0x10), which PHC allows too. */
const ARGON2 = /^argon2(\$argon2(?:id|i|d)(?:\$v=(?:16|19))?\$m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,10})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,})$/;

function parseArgon2(encoded: string): Parsed {
  const match = ARGON2.exec(encoded);
  if (!match) return malformed('argon2');
  const [m, t, p] = [Number(match[2]), Number(match[3]), Number(match[4])];
  if (m > MAX_ARGON2.memoryKiB || t > MAX_ARGON2.passes || p > MAX_ARGON2.lanes || t < 1 || p < 1 || m < 8 * p) {
    return unusable('argon2', `argon2 with m=${m},t=${t},p=${p}: beyond what this server verifies (m ≤ ${MAX_ARGON2.memoryKiB}, t ≤ ${MAX_ARGON2.passes}, p ≤ ${MAX_ARGON2.lanes}), so the account cannot log in until its password is reset`);
  }
  return { kind: 'argon2', algorithm: 'argon2', phc: match[1]! };
}

function parseScrypt(parts: string[]): Parsed {
  // scrypt$<N>$<salt>$<r>$<p>$<base64 of 64 bytes>
  if (parts.length !== 6) return malformed('scrypt');
  const [, nText, salt, rText, pText, hashText] = parts as [string, string, string, string, string, string];
  const hash = decodeStrictBase64(hashText);
  if (![nText, rText, pText].every((text) => DECIMAL.test(text)) || hash === null || hash.length !== 64) return malformed('scrypt');
  const [n, r, p] = [Number(nText), Number(rText), Number(pText)];
  if (n < 2 || (n & (n - 1)) !== 0) return malformed('scrypt');
  if (128 * n * r * p > MAX_SCRYPT_BYTES) {
    return unusable('scrypt', `scrypt with N=${n}, r=${r}, p=${p}: needs more memory than this server gives a login (${MAX_SCRYPT_BYTES / 1024 / 1024} MiB), so the account cannot log in until its password is reset`);
  }
  return { kind: 'scrypt', algorithm: 'scrypt', n, r, p, salt, hash };
}

function parseDigest(algorithm: 'md5' | 'sha1' | 'unsalted_md5' | 'unsalted_sha1', parts: string[]): Parsed {
  // md5$<salt>$<hex>, sha1$<salt>$<hex>; the unsalted hashers wrote md5$$<hex> / sha1$$<hex> (and unsalted_*$$<hex> is accepted alike).
  if (parts.length !== 3) return malformed(algorithm);
  const digest = algorithm.endsWith('md5') ? 'md5' : 'sha1';
  const [, salt, hex] = parts as [string, string, string];
  if (algorithm.startsWith('unsalted_') && salt !== '') return malformed(algorithm);
  if (!new RegExp(`^[0-9a-f]{${DIGEST_BYTES[digest] * 2}}$`).test(hex)) return malformed(algorithm);
  return { kind: 'digest', algorithm, digest, salt, hex };
}
