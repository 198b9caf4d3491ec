/**
 * Accounts: register, log in, re-check a password, rotate keys.
 * Login answers the same way, in the same time, for an unknown user and a
 * wrong password, so neither the body nor the timing reveals who exists.
 */
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../crypto/secrets.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { Unauthorized, ValidationError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import type { Sessions } from './sessions.ts';
import { envelopeView, type EnvelopeView, type UserView } from './views.ts';

export interface AuthResult {
  user: UserView;
  token: string;
  profile: EnvelopeView;
}

export interface Credentials {
  username: string;
  password: string;
  userAgent: string;
}

const USERNAME_TAKEN = 'A user with that username already exists.';
const BAD_CREDENTIALS = 'Unable to log in with the provided credentials.';

export class Accounts {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #sessions: Sessions;

  constructor(store: Store, keyring: Keyring, sessions: Sessions) {
    this.#store = store;
    this.#keyring = keyring;
    this.#sessions = sessions;
  }

  async register({ username, password, userAgent }: Credentials): Promise<AuthResult> {
    // Checked first so a taken name costs no key generation; the unique index
    // still decides between two registrations racing for the same name.
    if (await this.#store.users.findByUsername(username)) throw ValidationError.field('username', USERNAME_TAKEN);
    const [passwordHash, key] = await Promise.all([hashPassword(password), this.#keyring.newKeyVersion(password)]);
    let created;
    try {
      created = await this.#store.users.create({ username, passwordHash, key, now: new Date().toISOString() });
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationError.field('username', USERNAME_TAKEN);
      throw error;
    }
    const user = { id: created.user.id, username: created.user.username };
    const token = await this.#sessions.issue(user.id, userAgent);
    return { user, token, profile: envelopeView(created.key) };
  }

  async login({ username, password, userAgent }: Credentials): Promise<AuthResult> {
    const row = await this.#store.users.findByUsername(username);
    const valid = row ? await verifyPassword(row.password_hash, password) : await verifyAgainstDummy(password);
    if (!row || !valid) throw new Unauthorized(BAD_CREDENTIALS);
    const key = await this.#store.users.currentKey(row.id);
    if (!key) throw new Error(`user ${row.id} has no key`);
    const token = await this.#sessions.issue(row.id, userAgent);
    return { user: { id: row.id, username: row.username }, token, profile: envelopeView(key) };
  }

  /** Part A rotate: re-checks the password (wrong → 400), adds a key version. */
  async rotateKeys(user: UserView, password: string): Promise<EnvelopeView> {
    await this.#checkPassword(user, password);
    return envelopeView(await this.#keyring.rotate(user.id, password, new Date().toISOString()));
  }

  /** Every key version of the user, newest first (Part B1). */
  async envelopes(user: UserView): Promise<EnvelopeView[]> {
    return (await this.#store.users.keys(user.id)).map(envelopeView);
  }

  async #checkPassword(user: UserView, password: string): Promise<void> {
    const row = await this.#store.users.findByUsername(user.username);
    if (!row || !(await verifyPassword(row.password_hash, password))) {
      throw ValidationError.field('password', 'Password is incorrect.');
    }
  }
}
