/**
 * The CLI's saved login: server, user, mode and token, in a per-user file
 * created with mode 0600 (directory 0700). Private keys and passwords are
 * never written — only the token, which the server can revoke.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Mode, User } from '../index.ts';

export interface Profile {
  server: string;
  mode: Mode;
  user: User;
  token: string;
}

/** `$SECURECHAT_CONFIG`, else `$XDG_CONFIG_HOME/securechat/config.json`, else `~/.config/securechat/config.json`. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SECURECHAT_CONFIG) return env.SECURECHAT_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'securechat', 'config.json');
}

export async function loadProfile(path: string): Promise<Profile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const data = JSON.parse(text) as Partial<Profile>;
  if (!data.server || !data.token || !data.user || (data.mode !== 'e2e' && data.mode !== 'server')) return null;
  return data as Profile;
}

export async function saveProfile(path: string, profile: Profile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(profile, null, 2) + '\n', { mode: 0o600 });
  await chmod(path, 0o600); // also when the file already existed with looser rights
}

export async function forgetProfile(path: string): Promise<void> {
  await rm(path, { force: true });
}
