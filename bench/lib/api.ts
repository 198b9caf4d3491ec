/** The few API calls the benchmark makes to set itself up. */
import { randomBytes } from 'node:crypto';

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

/** Registers one user with the given password (server-made keys). */
export async function register(url: string, username: string, password: string): Promise<BenchUser> {
  const body = await post(url, '/api/auth/register/', { username, password });
  return { username, token: body.token, id: body.user.id };
}
