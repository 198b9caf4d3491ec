/** What every command needs: options, the saved profile, a client, output. */
import { SecureChatClient, type Mode } from '../index.ts';
import { NotLoggedInError } from '../errors.ts';
import { UsageError } from './exit-codes.ts';
import { PasswordInput } from './password.ts';
import { loadProfile, pinAccount, ProfilePinStore, profilePath, saveProfile, type Profile } from './profile.ts';
import { terminalJson, terminalText } from './terminal-text.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8000';
const USER_AGENT = 'securechat-cli/0.1';

export interface GlobalOptions {
  server?: string;
  json?: boolean;
}

export class Context {
  readonly passwords = new PasswordInput();
  readonly profilePath = profilePath();
  readonly #options: GlobalOptions;

  constructor(options: GlobalOptions) {
    this.#options = options;
  }

  get json(): boolean {
    return this.#options.json === true;
  }

  /** --server, else SECURECHAT_SERVER, else the saved profile's, else the default. */
  async serverUrl(): Promise<string> {
    const url = this.#options.server ?? process.env.SECURECHAT_SERVER ?? (await loadProfile(this.profilePath))?.server ?? DEFAULT_SERVER;
    if (!/^https?:\/\//.test(url)) throw new UsageError(`The server must be an http(s) URL (got "${url}").`);
    return url;
  }

  /** A client not yet logged in, for register and login. */
  async anonymousClient(mode: Mode): Promise<SecureChatClient> {
    return new SecureChatClient({ baseUrl: await this.serverUrl(), mode, userAgent: USER_AGENT });
  }

  /** A client resuming the saved session, with the contacts' pinned keys kept in the profile file. */
  async client(): Promise<{ client: SecureChatClient; profile: Profile }> {
    const profile = await loadProfile(this.profilePath);
    if (!profile) throw new NotLoggedInError();
    const baseUrl = this.#options.server ?? process.env.SECURECHAT_SERVER ?? profile.server;
    const pins = new ProfilePinStore(this.profilePath, pinAccount(baseUrl, profile.user.username));
    const client = new SecureChatClient({ baseUrl, mode: profile.mode, session: { token: profile.token, user: profile.user }, userAgent: USER_AGENT, pins });
    return { client, profile };
  }

  /** A resumed client with its keys unlocked (asks for the password). */
  async unlockedClient(): Promise<SecureChatClient> {
    const { client } = await this.client();
    await client.keys(); // fail on a revoked token before asking for a password
    await client.unlock(await this.passwords.current());
    return client;
  }

  async remember(client: SecureChatClient): Promise<void> {
    await saveProfile(this.profilePath, { server: client.baseUrl, mode: client.mode, user: client.user!, token: client.token! });
  }

  /**
   * Prints `human` for people, or `data` as JSON with --json. Commands make
   * each server-supplied field safe where it is placed; this pass is the net
   * for any they missed (the JSON keeps exact values, escaped).
   */
  print(human: string, data: unknown): void {
    process.stdout.write((this.json ? terminalJson(data) : terminalText(human)) + '\n');
  }
}

export function parseMode(value: string): Mode {
  if (value !== 'e2e' && value !== 'server') throw new UsageError('--mode must be "e2e" or "server".');
  return value;
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value)) throw new UsageError(`${what} must be a positive whole number (got "${value}").`);
  return Number(value);
}
