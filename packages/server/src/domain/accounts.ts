/**
 * Accounts: register, log in, rotate keys, change the password.
 * Login answers the same way, in the same time, for an unknown user and a
 * wrong password, so neither the body nor the timing reveals who exists.
 */
import { COMMON_PASSWORD_DETAIL, isCommonPassword } from '@securechat/protocol';
import type { Config } from '../config.ts';
import { isDjangoHash, verifyDjangoPassword } from '../crypto/django-passwords.ts';
import { openEnvelope, sealPrivateKey } from '../crypto/keys.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../crypto/secrets.ts';
import { UsernameTaken, type ResealedEnvelope, type Store, type UserKeyRow, type UserRow } from '../store/ports.ts';
import { checkEnvelope, checkSealedSigningKey, type ClientEnvelope, type ClientKeyPair, type SealedSigningKey } from './client-crypto.ts';
import { Conflict, Unauthorized, ValidationError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import type { Authenticated, Sessions } from './sessions.ts';
import { NO_FAN_OUT, type FanOut } from '../realtime/fan-out.ts';
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

export interface PasswordChange {
  old_password: string;
  new_password: string;
  /** End-to-end accounts: every key version re-sealed by the client (Part B 11: with its signing key, where it has one). */
  envelopes?: (ClientEnvelope & Partial<SealedSigningKey> & { key_id: number })[];
}

const USERNAME_TAKEN = 'A user with that username already exists.';
const BAD_CREDENTIALS = 'Unable to log in with the provided credentials.';

export class Accounts {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #sessions: Sessions;
  readonly #config: Config;
  readonly #fanOut: FanOut;

  constructor(store: Store, keyring: Keyring, sessions: Sessions, config: Config, fanOut: FanOut = NO_FAN_OUT) {
    this.#store = store;
    this.#fanOut = fanOut;
    this.#keyring = keyring;
    this.#sessions = sessions;
    this.#config = config;
    void isCommonPassword(''); // loads the list now (~10 ms) rather than during the first registration
  }

  /** With `clientKey` (end-to-end) the server stores that key pair and never holds a private key. */
  async register({ username, password, userAgent }: Credentials, clientKey: ClientKeyPair | null = null): Promise<AuthResult> {
    await refuseCommon('password', password);
    if (clientKey?.key_signature) {
      throw ValidationError.field('key_signature', 'key_signature must be null at registration: version 1 starts the chain, and no earlier key can vouch for it.');
    }
    // Checked first so a taken name costs no key generation; the unique index
    // still decides between two registrations racing for the same name.
    if (await this.#store.users.findByUsername(username)) throw ValidationError.field('username', USERNAME_TAKEN);
    const [passwordHash, key] = await Promise.all([
      hashPassword(password),
      clientKey ? { ...clientKey, sealed_by: 'client' as const } : this.#keyring.newKeyVersion(password),
    ]);
    let created;
    try {
      created = await this.#store.users.create({ username, passwordHash, key, now: new Date().toISOString() });
    } catch (error) {
      if (error instanceof UsernameTaken) throw ValidationError.field('username', USERNAME_TAKEN);
      throw error;
    }
    const user = { id: created.user.id, username: created.user.username };
    const token = await this.#sessions.issue(user.id, userAgent);
    return { user, token, profile: envelopeView(created.key) };
  }

  async login({ username, password, userAgent }: Credentials): Promise<AuthResult> {
    const row = await this.#store.users.findByUsername(username);
    const valid = row ? await this.#verify(row, password) : await verifyAgainstDummy(password);
    if (!row || !valid) throw new Unauthorized(BAD_CREDENTIALS);
    const key = await this.#store.users.currentKey(row.id);
    if (!key) throw new Error(`user ${row.id} has no key`);
    const token = await this.#sessions.issue(row.id, userAgent);
    return { user: { id: row.id, username: row.username }, token, profile: envelopeView(key) };
  }

  /** Re-checks the password (wrong → 400), then adds a key version (409 past MAX_KEY_VERSIONS). */
  async rotateKeys(user: UserView, password: string, clientKey: ClientKeyPair | null = null): Promise<EnvelopeView> {
    await this.#keyring.refuseIfFull(user.id); // before the Argon2 check: a full account costs nothing
    await this.#checkPassword(user, password, 'password');
    const source = clientKey ? { clientKey } : { password };
    return envelopeView(await this.#keyring.rotate(user, source, new Date().toISOString()));
  }

  /**
   * Part B6: re-seals every envelope under the new password — on the server
   * for server-sealed keys, or with the client's own envelopes — and revokes
   * the caller's other sessions. Returns every envelope, newest first.
   */
  async changePassword(auth: Authenticated, change: PasswordChange): Promise<EnvelopeView[]> {
    await refuseCommon('new_password', change.new_password);
    await this.#checkPassword(auth.user, change.old_password, 'old_password');
    const keys = await this.#store.users.keys(auth.user.id);
    const envelopes = change.envelopes ? this.#clientEnvelopes(keys, change.envelopes) : await this.#resealOnServer(keys, change);
    const replaced = await this.#store.users.replaceSecrets({
      userId: auth.user.id,
      passwordHash: await hashPassword(change.new_password),
      envelopes,
      keepSessionId: auth.sessionId,
    });
    if (!replaced) {
      throw new Conflict('A key rotation finished while the password was being changed, so nothing was changed: fetch your keys (GET /api/keys/) and change the password again.');
    }
    // B 9: the other sessions' connections close; every connection learns the (unchanged) current key was re-sealed.
    this.#fanOut.publish({ type: 'sessions_changed', userId: auth.user.id });
    this.#fanOut.publish({ type: 'key_rotated', userId: auth.user.id, keyId: Math.max(...keys.map((key) => key.key_id)) });
    return this.envelopes(auth.user);
  }

  /** Every key version of the user, newest first (Part B1). */
  async envelopes(user: UserView): Promise<EnvelopeView[]> {
    return (await this.#store.users.keys(user.id)).map(envelopeView);
  }

  #clientEnvelopes(keys: UserKeyRow[], envelopes: NonNullable<PasswordChange['envelopes']>): ResealedEnvelope[] {
    const expected = keys.map((k) => k.key_id).sort((a, b) => a - b);
    const given = envelopes.map((e) => e.key_id).sort((a, b) => a - b);
    if (given.join() !== expected.join()) {
      throw ValidationError.field('envelopes', `envelopes must hold every key version exactly once: ${expected.join(', ')}.`);
    }
    const signs = new Map(keys.map((k) => [k.key_id, k.signing_public_key !== null]));
    return envelopes.map(({ key_id, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, ...sealed }, i) => {
      const envelope = { encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations };
      checkEnvelope(envelope, `envelopes[${i}].`);
      // Part B 11: a version's signing key is sealed under the same derived key, so it is re-sealed with it.
      const signing = { encrypted_signing_key: sealed.encrypted_signing_key ?? null, signing_key_nonce: sealed.signing_key_nonce ?? null };
      if (signs.get(key_id)) {
        if (signing.encrypted_signing_key === null || signing.signing_key_nonce === null) {
          throw ValidationError.field(
            `envelopes[${i}].encrypted_signing_key`,
            `Key version ${key_id} has a signing key: its envelope needs encrypted_signing_key and signing_key_nonce, re-sealed under the new salt.`,
          );
        }
        checkSealedSigningKey(signing, private_key_nonce, `envelopes[${i}].`);
      } else if (signing.encrypted_signing_key !== null || signing.signing_key_nonce !== null) {
        throw ValidationError.field(`envelopes[${i}].encrypted_signing_key`, `Key version ${key_id} has no signing key: leave out encrypted_signing_key and signing_key_nonce.`);
      }
      return { key_id, ...envelope, ...signing, sealed_by: 'client' as const };
    });
  }

  async #resealOnServer(keys: UserKeyRow[], change: PasswordChange): Promise<ResealedEnvelope[]> {
    const required = ValidationError.field('envelopes', 'This account’s keys were made by its client: envelopes are required.');
    if (keys.some((key) => key.sealed_by === 'client')) throw required;
    // One flow for all 2 × versions PBKDF2 runs: they take turns with other requests' work instead of queueing ahead of it.
    const flow = {};
    return Promise.all(
      keys.map(async (key) => {
        const privateKey = await openEnvelope(key, change.old_password, flow);
        if (privateKey === null) throw required;
        const sealed = await sealPrivateKey(privateKey, change.new_password, this.#config.kdfIterations, flow);
        // Server-sealed versions are server-made: they have no signing key (Part B 11).
        return { key_id: key.key_id, ...sealed, encrypted_signing_key: null, signing_key_nonce: null, sealed_by: 'server' as const };
      }),
    );
  }

  async #checkPassword(user: UserView, password: string, field: string): Promise<void> {
    const row = await this.#store.users.findByUsername(user.username);
    if (!row || !(await this.#verify(row, password))) {
      throw ValidationError.field(field, 'Password is incorrect.');
    }
  }

  /**
   * Our Argon2id PHC hash, or a hash imported from the original Django
   * backend (crypto/django-passwords.ts). A legacy hash that verifies is
   * replaced by our Argon2id hash of the same password before the answer —
   * unless a password change replaced it meanwhile (then that one stays).
   */
  async #verify(row: UserRow, password: string): Promise<boolean> {
    if (!isDjangoHash(row.password_hash)) return verifyPassword(row.password_hash, password);
    if (!(await verifyDjangoPassword(row.password_hash, password))) return false;
    await this.#store.users.upgradePasswordHash(row.id, row.password_hash, await hashPassword(password));
    return true;
  }
}

/** Checked before any hashing or key work. An end-to-end client's login secret is never in the list: its SDK checks the raw password. */
async function refuseCommon(field: string, password: string): Promise<void> {
  if (await isCommonPassword(password)) throw ValidationError.field(field, COMMON_PASSWORD_DETAIL);
}
