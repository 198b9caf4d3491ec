/**
 * The CLI's saved state, in a per-user file created with mode 0600
 * (directory 0700): the login (server, user, mode and token) and the pinned
 * signing keys of contacts (B 11), per account. Private keys and passwords
 * are never written — only the token, which the server can revoke, and
 * public keys.
 *
 * Logging out forgets the login but keeps the pins, so logging in again
 * still notices a contact's key that changed meanwhile; deleting the file
 * forgets both.
 *
 * {
 *   "server": "http://127.0.0.1:8000", "mode": "e2e", "user": {"id": 1, "username": "alice"}, "token": "…",
 *   "pins": { "http://127.0.0.1:8000 alice": { "bob": { "username": "bob", "signingPublicKey": "…", … } } }
 * }
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isContactPin, type ContactPin, type Mode, type PinStore, type User } from '../index.ts';

export interface Profile {
  server: string;
  mode: Mode;
  user: User;
  token: string;
}

type Pins = Record<string, Record<string, ContactPin>>;

interface ProfileFile extends Partial<Profile> {
  pins?: Pins;
}

/** `$SECURECHAT_CONFIG`, else `$XDG_CONFIG_HOME/securechat/config.json`, else `~/.config/securechat/config.json`. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SECURECHAT_CONFIG) return env.SECURECHAT_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'securechat', 'config.json');
}

async function readProfileFile(path: string): Promise<ProfileFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const data = JSON.parse(text) as unknown;
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as ProfileFile) : null;
}

/** Written whole to a temporary file, then renamed over the old one: a reader never sees half a file. */
async function writeProfileFile(path: string, data: ProfileFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  await chmod(temporary, 0o600); // also when a stale temporary file existed with looser rights
  await rename(temporary, path);
}

/** The saved login, or null when there is none. */
export async function loadProfile(path: string): Promise<Profile | null> {
  const data = await readProfileFile(path);
  if (!data?.server || !data.token || !data.user || (data.mode !== 'e2e' && data.mode !== 'server')) return null;
  return { server: data.server, mode: data.mode, user: data.user, token: data.token };
}

/** Saves the login; the pins already in the file stay. */
export async function saveProfile(path: string, profile: Profile): Promise<void> {
  const pins = (await readProfileFile(path).catch(() => null))?.pins;
  await writeProfileFile(path, { ...profile, ...(pins ? { pins } : {}) });
}

/** Forgets the login; keeps the pins (public keys only), or removes the file when there are none. */
export async function forgetProfile(path: string): Promise<void> {
  const pins = (await readProfileFile(path).catch(() => null))?.pins;
  if (pins && Object.keys(pins).length > 0) await writeProfileFile(path, { pins });
  else await rm(path, { force: true });
}

/** Whose pins: one account on one server. */
export function pinAccount(server: string, username: string): string {
  return `${server.replace(/\/+$/, '')} ${username.toLowerCase()}`;
}

/**
 * The SDK's `PinStore` on the profile file: read once, and each new pin
 * written at once (the file is read again first, so pins another
 * `securechat` process saved meanwhile are kept).
 */
export class ProfilePinStore implements PinStore {
  readonly #path: string;
  readonly #account: string;
  #pins: Record<string, ContactPin> | null = null;

  constructor(path: string, account: string) {
    this.#path = path;
    this.#account = account;
  }

  async get(username: string): Promise<ContactPin | null> {
    this.#pins ??= await this.#read();
    const pin = this.#pins[username];
    return isContactPin(pin) ? pin : null;
  }

  /** Pins are written one at a time (a read-modify-write of the file each), in the order they were made. */
  set(pin: ContactPin): Promise<void> {
    const write = this.#writes.then(() => this.#write(pin));
    this.#writes = write.catch(() => {});
    return write;
  }

  #writes: Promise<void> = Promise.resolve();

  async #write(pin: ContactPin): Promise<void> {
    const data = (await readProfileFile(this.#path)) ?? {};
    const pins: Pins = data.pins && typeof data.pins === 'object' ? data.pins : {};
    pins[this.#account] = { ...(pins[this.#account] ?? {}), [pin.username]: pin };
    await writeProfileFile(this.#path, { ...data, pins });
    this.#pins = pins[this.#account]!;
  }

  async #read(): Promise<Record<string, ContactPin>> {
    const pins = (await readProfileFile(this.#path))?.pins?.[this.#account];
    return pins && typeof pins === 'object' ? pins : {};
  }
}
