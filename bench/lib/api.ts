/** The few API calls the benchmark makes to set itself up. */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export async function post(url: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { 'x-auth-token': token } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface BenchUser {
  username: string;
  token: string;
  id: number;
}

export async function registerUsers(url: string, prefix: string, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < count; i++) {
    const username = `${prefix}${i}`;
    const body = await post(url, '/api/auth/register/', { username, password: 'bench-password-1' });
    users.push({ username, token: body.token, id: body.user.id });
  }
  return users;
}

/** A password no common-password list holds. */
export const uncommonPassword = () => `bench-${randomBytes(6).toString('hex')}`;

/** Registers one user with the given password (server-made keys, unless `keyPair` holds client-made ones). */
export async function register(url: string, username: string, password: string, keyPair: Record<string, unknown> = {}): Promise<BenchUser> {
  const body = await post(url, '/api/auth/register/', { username, password, ...keyPair });
  return { username, token: body.token, id: body.user.id };
}

/**
 * Registers `count` users named `<prefix><i>` with a client-made key pair
 * (API B4): one RSA-2048 public key shared by all of them and random
 * envelope bytes, so the server spends no key generation or PBKDF2 on them
 * (only its Argon2 hash): thousands of users in seconds. Server-mode sends to
 * them work as to anyone (the server wraps for the public key); nobody can
 * decrypt them, which a load test does not need. `concurrency` requests at once.
 */
export async function registerMany(url: string, prefix: string, count: number, { password = uncommonPassword(), concurrency = 8 } = {}): Promise<BenchUser[]> {
  const publicKey = sharedPublicKey();
  const users: BenchUser[] = new Array(count);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const i = next++;
      users[i] = await register(url, `${prefix}${i}`, password, {
        public_key: publicKey,
        encrypted_private_key: randomBytes(1_232).toString('base64'),
        private_key_nonce: randomBytes(12).toString('base64'),
        private_key_salt: randomBytes(16).toString('base64'),
        private_key_iterations: 600_000,
      });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return users;
}

let publicKeyPem: string | null = null;
function sharedPublicKey(): string {
  return (publicKeyPem ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
}
