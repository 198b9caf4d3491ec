/**
 * SecureChatClient: every endpoint of the API, with the cryptography done
 * here (WebCrypto via @securechat/protocol), on `fetch` — the same code runs
 * in Node ≥ 20 and in browsers.
 *
 * Two modes:
 * - `"e2e"` (default): keys are generated and sealed here, messages are
 *   encrypted here (with a sender copy), and the server only ever receives the
 *   login secret, never the password (API.md Part B4).
 * - `"server"`: the original flow, for accounts made by original clients: the
 *   server generates keys and encrypts; this client still decrypts locally.
 *
 * @example
 * const client = new SecureChatClient({ baseUrl: 'http://127.0.0.1:8000' });
 * await client.register('alice', 'correct horse battery');
 * await client.send('bob', { text: 'hi', attachment: { data: bytes, name: 'a.png', mime: 'image/png' } });
 * for await (const message of client.inbox()) console.log(message.sender.username, message.text, message.signature);
 *
 * Signatures (API.md B 11): in e2e mode every key version gets an Ed25519
 * signing key, every send is signed, and every message opened reports
 * `signature` ("valid" | "invalid" | "unsigned") and `keyChange` ("none" |
 * "rotated" | "unverified"), checked against the sender's key chain and the
 * key pinned for them (see trust.ts and pins.ts). Nothing is encrypted to a
 * key the chain does not vouch for without `{ acceptNewKey: true }`.
 */
import {
  deriveLoginSecret, encodeBase64, encryptMessage, generateKeyPair, generateSigningKeyPair, importPrivateKey, importSigningKey, isCommonPassword,
  openEnvelope, openEnvelopeKeys, sealPrivateKey, signKeyLink, signMessage, COMMON_PASSWORD_DETAIL, DEFAULT_ITERATIONS, type Envelope, type KeyVersion, type Message,
  type PublicKeyEntry, type Session, type User,
} from '@securechat/protocol';
import { ApiError, DecryptionError, InvalidResponseError, KeysLockedError, NotFoundError, NotLoggedInError, UnusablePublicKeyError, UntrustedKeyError, ValidationError } from './errors.ts';
import { Keychain, openVersion, type DeviceSigningKey } from './keychain.ts';
import { asUser, openMessage, type DecryptedMessage, type MailboxMessage } from './open-message.ts';
import { MemoryPinStore, type PinStore } from './pins.ts';
import { publicKeyDer, parsePublicKey, publicKeyProblem } from './public-key.ts';
import { subscribe, type SubscribeOptions, type Subscription } from './subscription.ts';
import { Transport, type RetryOptions } from './transport.ts';
import { TrustBook, type ContactStatus, type MessageTrust } from './trust.ts';
import type { UploadProgress } from './upload-progress.ts';

export type Mode = 'e2e' | 'server';

export interface ClientOptions {
  baseUrl: string;
  mode?: Mode;
  /** Resume a session: a token from an earlier login, and whose it is. */
  session?: { token: string; user: User };
  /**
   * With `session`: private keys kept from that session (`deviceKeys()`), so
   * the client starts unlocked, e.g. from a browser's IndexedDB.
   */
  keys?: Array<[number, CryptoKey]>;
  /**
   * With `session`: signing keys kept from that session (`deviceSigningKeys()`),
   * so a remembered device can still sign what it sends. Without them it can
   * read but must `unlock` with the password before its next send.
   */
  signingKeys?: Array<[number, DeviceSigningKey]>;
  /**
   * Where contacts' pinned signing keys are kept (default: in memory, for the
   * life of this client). Give a persistent one (a file, IndexedDB) so that a
   * key change is noticed across restarts.
   */
  pins?: PinStore;
  /** PBKDF2 rounds for envelopes sealed here (default 600,000). */
  kdfIterations?: number;
  /** RSA modulus for keys generated here (default 2048). */
  rsaBits?: number;
  fetch?: typeof fetch;
  userAgent?: string;
  /** How `send()` retries after a network error, a timeout or a 502/503/504 (default: 4 attempts, see RetryOptions). */
  retry?: RetryOptions;
}

export interface Attachment {
  data: Uint8Array;
  name?: string;
  mime?: string;
}

export interface OutgoingMessage {
  text?: string;
  attachment?: Attachment;
}

/** A user's current public key, checked here: `keyError` says why it is unusable (null when it is fine). */
export interface CheckedPublicKeyEntry extends PublicKeyEntry {
  keyError: string | null;
}

/** What the server accepts (GET /api/limits/). */
export interface ServerLimits {
  /** The largest attachment, in bytes before encryption and base64. */
  max_attachment_bytes: number;
}

/** Where a send is: encrypting here, then uploading (`loaded`/`total` in bytes). */
export interface SendProgress {
  phase: 'encrypting' | 'uploading';
  loaded: number;
  total: number;
}

export interface SendOptions {
  onProgress?: (progress: SendProgress) => void;
  /**
   * Encrypt to the recipient's current key even though their key chain does
   * not vouch for it (`keyChange: "unverified"`): the user's explicit consent,
   * after being warned. The key becomes the one pinned for them. Without it
   * such a send throws `UntrustedKeyError` and nothing is sent.
   */
  acceptNewKey?: boolean;
}

export interface ListOptions {
  direction?: 'inbox' | 'sent';
  /** Page size (the server clamps it to 200). */
  limit?: number;
  beforeId?: number;
  afterId?: number;
}

export class SecureChatClient {
  readonly mode: Mode;
  readonly #http: Transport;
  readonly #keys = new Keychain();
  readonly #kdfIterations: number;
  readonly #rsaBits: number;
  readonly #trust: TrustBook;
  #user: User | null = null;

  constructor(options: ClientOptions) {
    this.mode = options.mode ?? 'e2e';
    this.#http = new Transport(options);
    this.#kdfIterations = options.kdfIterations ?? DEFAULT_ITERATIONS;
    this.#rsaBits = options.rsaBits ?? 2048;
    this.#trust = new TrustBook(
      {
        keyVersions: (username) => this.keyHistory(username),
        user: () => this.#user,
        ownSigningKeys: () => this.#keys.signingPublicKeys(),
      },
      options.pins ?? new MemoryPinStore(),
    );
    if (options.session) {
      this.#http.token = options.session.token;
      this.#user = options.session.user;
      for (const [keyId, key] of options.keys ?? []) this.#keys.add(keyId, key);
      for (const [keyId, key] of options.signingKeys ?? []) this.#keys.addSigning(keyId, key);
    }
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }
  get token(): string | null {
    return this.#http.token;
  }
  get user(): User | null {
    return this.#user;
  }
  /** True once the private keys are in memory (after login, register or unlock). */
  get unlocked(): boolean {
    return this.#keys.unlocked;
  }

  /**
   * The private keys in memory, by key version: non-extractable CryptoKeys,
   * which no script can read back out but a browser can keep in IndexedDB to
   * resume unlocked (ClientOptions.keys).
   */
  deviceKeys(): Array<[number, CryptoKey]> {
    return this.#keys.entries();
  }

  /**
   * The signing keys in memory, by key version (B 11): non-extractable
   * private keys with their public halves, to keep beside `deviceKeys()` and
   * resume with (ClientOptions.signingKeys).
   *
   * @example
   * await idb.put({ token: client.token, user: client.user, keys: client.deviceKeys(), signingKeys: client.deviceSigningKeys() });
   * new SecureChatClient({ baseUrl, session: { token, user }, keys, signingKeys });
   */
  deviceSigningKeys(): Array<[number, DeviceSigningKey]> {
    return this.#keys.signingEntries();
  }

  async limits(): Promise<ServerLimits> {
    return (await this.#http.request<ServerLimits>('GET', '/api/limits/')).body;
  }

  // ── accounts ───────────────────────────────────────────────────────────

  async register(username: string, password: string): Promise<{ user: User; token: string }> {
    await checkNewPassword(password);
    let body: Record<string, unknown> = { username, password };
    let made: NewKeyVersion | null = null;
    if (this.mode === 'e2e') {
      made = await this.#newKeyVersion(password);
      body = { username, password: await deriveLoginSecret(username, password), ...made.body };
    }
    const { body: result } = await this.#http.request<{ user: User; token: string; profile: Envelope }>('POST', '/api/auth/register/', body);
    this.#signedIn(result);
    if (made) await this.#holdNewVersion(result.profile.key_id, made);
    else await this.#keys.unlock([result.profile], password);
    return { user: result.user, token: result.token };
  }

  /** Logs in and unlocks every key version with the password. */
  async login(username: string, password: string): Promise<{ user: User; token: string }> {
    const { body: result } = await this.#http.request<{ user: User; token: string }>('POST', '/api/auth/login/', {
      username,
      password: await this.#loginPassword(username, password),
    });
    this.#signedIn(result);
    await this.unlock(password);
    return { user: result.user, token: result.token };
  }

  /**
   * For a resumed session: opens every envelope with the password, in memory.
   * `currentOnly` opens just the current version (one PBKDF2 run): enough to
   * sign and send, and to read what was sent to the current key.
   */
  async unlock(password: string, options: { currentOnly?: boolean } = {}): Promise<void> {
    const envelopes = await this.keys();
    await this.#keys.unlock(options.currentOnly ? envelopes.slice(0, 1) : envelopes, password, { add: options.currentOnly === true });
  }

  async logout(): Promise<void> {
    await this.#http.request('POST', '/api/auth/logout/');
    this.#signedOut();
  }

  async logoutAll(): Promise<void> {
    await this.#http.request('POST', '/api/auth/logout-all/');
    this.#signedOut();
  }

  async sessions(): Promise<Session[]> {
    return this.#list<Session>('/api/auth/sessions/');
  }

  async revokeSession(id: number): Promise<void> {
    await this.#http.request('DELETE', `/api/auth/sessions/${id}/`);
  }

  /** Every key version's envelope, newest first. */
  async keys(): Promise<Envelope[]> {
    return this.#list<Envelope>('/api/keys/');
  }

  /** Adds a new key version; earlier messages stay readable. */
  async rotateKeys(password: string): Promise<Envelope> {
    const user = this.#requireUser();
    if (this.mode === 'server') {
      const { body: envelope } = await this.#http.request<Envelope>('POST', '/api/keys/rotate/', { password });
      this.#keys.add(envelope.key_id, await importPrivateKey(await openEnvelope(envelope, password)));
      return envelope;
    }
    const made = await this.#newKeyVersion(password);
    const secret = await deriveLoginSecret(user.username, password);
    for (let attempt = 1; ; attempt++) {
      // The current version's signing key vouches for the new one (B 11); without one, the new version starts the chain.
      const current = (await this.keys())[0];
      if (!current) throw new InvalidResponseError('The server listed none of your keys.');
      let key_signature: string | null = null;
      if (current.signing_public_key) {
        const signer = await this.#signingKeyOf(current, password);
        key_signature = await signKeyLink(signer.privateKey, {
          username: user.username,
          keyId: current.key_id + 1,
          publicKeyPem: made.publicKeyPem,
          signingPublicKey: made.body.signing_public_key,
        });
      }
      try {
        const { body: envelope } = await this.#http.request<Envelope>('POST', '/api/keys/rotate/', { password: secret, ...made.body, key_signature });
        await this.#holdNewVersion(envelope.key_id, made);
        this.#trust.forget(user.username);
        return envelope;
      } catch (error) {
        // Another device rotated first: 409 when the server noticed the race, or 400 for a key_signature made for a
        // version that is no longer the next one. Vouch again, from the new current version.
        if (attempt >= 3 || !(error instanceof ApiError)) throw error;
        const lostRace = error.status === 409 || (error.status === 400 && error.errors.key_signature && (await this.keys())[0]?.key_id !== current.key_id);
        if (!lostRace) throw error;
      }
    }
  }

  /** A fresh RSA key pair and signing key pair, sealed together under the password (one PBKDF2 run). */
  async #newKeyVersion(password: string): Promise<NewKeyVersion> {
    const [pair, signing] = await Promise.all([generateKeyPair(this.#rsaBits), generateSigningKeyPair()]);
    const sealed = await sealPrivateKey(pair.privateKey, password, { iterations: this.#kdfIterations, signingKey: signing.privateKey });
    const [privateKey, signingKey] = await Promise.all([importPrivateKey(pair.privateKey), importSigningKey(signing.privateKey)]);
    signing.privateKey.fill(0);
    return {
      body: { public_key: pair.publicKey, signing_public_key: signing.publicKey, ...sealed },
      publicKeyPem: pair.publicKey,
      privateKey,
      signing: { privateKey: signingKey, publicKey: signing.publicKey },
    };
  }

  async #holdNewVersion(keyId: number, made: NewKeyVersion): Promise<void> {
    this.#keys.addVersion({ keyId, privateKey: made.privateKey, signing: made.signing });
  }

  /** This version's signing key: from memory, else opened from its envelope with the password. */
  async #signingKeyOf(envelope: Envelope, password: string | null): Promise<DeviceSigningKey> {
    const held = this.#keys.signing(envelope.key_id);
    if (held && held.publicKey === envelope.signing_public_key) return held;
    if (held) throw new InvalidResponseError(`The server lists a signing key for your key version ${envelope.key_id} that is not yours.`);
    if (password === null) throw new KeysLockedError('Your signing key is locked: unlock with your password first (every message you send is signed).');
    const opened = await openVersion(envelope, password).catch(() => {
      throw new DecryptionError(`The password does not open your key version ${envelope.key_id}.`);
    });
    if (!opened.signing) throw new InvalidResponseError(`Your key version ${envelope.key_id} has no signing key that matches the one the server lists.`);
    this.#keys.addVersion(opened);
    return opened.signing;
  }

  /**
   * Changes the password; every key version is re-sealed (here in e2e mode,
   * by the server in server mode) and the other sessions are revoked.
   */
  async changePassword(oldPassword: string, newPassword: string): Promise<Envelope[]> {
    const user = this.#requireUser();
    await checkNewPassword(newPassword, 'new_password');
    if (this.mode === 'server') {
      const { body } = await this.#http.request<Envelope[]>('POST', '/api/auth/password/', { old_password: oldPassword, new_password: newPassword });
      await this.#keys.unlock(body, newPassword);
      return body;
    }
    // Re-sealed from the envelopes themselves: the keys in memory are non-extractable.
    const envelopes = await Promise.all(
      (await this.keys()).map(async (envelope) => {
        const opened = await openEnvelopeKeys(envelope, oldPassword).catch(() => {
          throw new ValidationError(400, 'Password is incorrect.', { old_password: ['Password is incorrect.'] });
        });
        // Both keys again under one new salt: the signing key (B 11) beside the RSA key.
        const signingKey = envelope.encrypted_signing_key ? opened.signingKey : null;
        const sealed = await sealPrivateKey(opened.privateKeyPem, newPassword, {
          iterations: this.#kdfIterations,
          ...(signingKey ? { signingKey } : {}),
        });
        opened.signingKey?.fill(0);
        return { key_id: envelope.key_id, ...sealed };
      }),
    );
    const { body } = await this.#http.request<Envelope[]>('POST', '/api/auth/password/', {
      old_password: await deriveLoginSecret(user.username, oldPassword),
      new_password: await deriveLoginSecret(user.username, newPassword),
      envelopes,
    });
    return body;
  }

  // ── users ──────────────────────────────────────────────────────────────

  /**
   * Every other user, following the server's pages. A user whose key fails
   * the checks in public-key.ts is still listed, with `keyError` set.
   */
  async *users(options: { search?: string; limit?: number } = {}): AsyncGenerator<CheckedPublicKeyEntry> {
    const query = new URLSearchParams();
    if (options.search) query.set('search', options.search);
    if (options.limit) query.set('limit', String(options.limit));
    for await (const entry of this.#pages<PublicKeyEntry>(`/api/users/?${query}`)) yield checkedEntry(entry);
  }

  async publicKey(username: string): Promise<CheckedPublicKeyEntry> {
    return checkedEntry((await this.#http.request<PublicKeyEntry>('GET', `/api/users/${encodeURIComponent(username)}/public-key/`)).body);
  }

  /**
   * Every key version of a user, oldest first, as the server lists them
   * (`GET /api/users/{username}/keys/`, B 11) — unchecked: `contact()` gives
   * the checked chain.
   */
  async keyHistory(username: string): Promise<KeyVersion[]> {
    return this.#list<KeyVersion>(`/api/users/${encodeURIComponent(username)}/keys/`);
  }

  // ── trust (B 11) ───────────────────────────────────────────────────────

  /**
   * A contact's keys as this client sees them: their key chain checked link
   * by link, and how their current key relates to the key pinned for them
   * (pinned now, on first use). `keyChange: "unverified"` is a loud warning:
   * nothing vouches for their current key, and `send` refuses it without
   * `acceptNewKey`. Chains are cached for a few minutes; `refresh` fetches.
   *
   * @example
   * const bob = await client.contact('bob');
   * if (bob.keyChange === 'unverified') warn(`Bob's key changed without a chain: ${bob.problem}`);
   * if (!bob.verified) suggest(`Compare safety numbers: ${await client.safetyNumber('bob')}`);
   */
  async contact(username: string, options: { refresh?: boolean } = {}): Promise<ContactStatus> {
    this.#requireUser();
    return this.#trust.contact(username, options);
  }

  /**
   * The safety number of you and `username` (API.md B 11): 60 digits in
   * twelve groups of five, the same on both sides. Compare it in person or
   * on a call; if it matches, `markVerified(username)`. Throws
   * `NoSigningKeyError` when either of you has no signing key yet.
   *
   * @example
   * await client.safetyNumber('bob'); // '13091 32294 92263 76313 26174 49443 42493 13209 61591 80933 39727 51357'
   */
  async safetyNumber(username: string): Promise<string> {
    this.#requireUser();
    return this.#trust.safetyNumber(username);
  }

  /**
   * Marks a contact verified: the user compared safety numbers and they
   * matched. Stored in the contact's pin; it holds while their chain runs
   * from that first key to their current one. Throws `UntrustedKeyError` when
   * their current key is not vouched for by that chain (a safety number could
   * not verify it), `NoSigningKeyError` when they have no signing key.
   *
   * @example
   * if (typedDigits === await client.safetyNumber('bob')) await client.markVerified('bob');
   */
  async markVerified(username: string): Promise<ContactStatus> {
    this.#requireUser();
    return this.#trust.markVerified(username);
  }

  /**
   * The user accepts a contact's current key although their chain does not
   * vouch for it (after being warned): it becomes the key pinned for them and
   * the verified mark is dropped. `send(…, { acceptNewKey: true })` does this too.
   */
  async acceptKey(username: string): Promise<ContactStatus> {
    this.#requireUser();
    return this.#trust.accept(username);
  }

  // ── messages ───────────────────────────────────────────────────────────

  /**
   * Sends text and/or an attachment; in e2e mode it is encrypted here, with a sender copy.
   *
   * Exactly once (API B10): the message gets a fresh `client_id`, and after a
   * network error, a timeout or a 502/503/504 the very same request is sent
   * again (ClientOptions.retry); the server stores it once and answers a
   * repeat with the message it stored.
   *
   * Signed (API B 11) when your current key version has a signing key: with
   * the signing key in memory (after login or `unlock`), else it throws
   * `DecryptionError` saying to unlock. The recipient's key is taken from
   * their key chain; when the chain does not vouch for it (`keyChange:
   * "unverified"`) it throws `UntrustedKeyError` and sends nothing, unless
   * `options.acceptNewKey`.
   *
   * @example
   * try {
   *   await client.send('bob', { text: 'hi' });
   * } catch (e) {
   *   if (!(e instanceof UntrustedKeyError)) throw e;
   *   if (await askUser(e.message)) await client.send('bob', { text: 'hi' }, { acceptNewKey: true });
   * }
   */
  async send(recipient: string, message: OutgoingMessage, options: SendOptions = {}): Promise<Message> {
    const { text = '', attachment } = message;
    const total = attachment?.data.byteLength ?? 0;
    options.onProgress?.({ phase: 'encrypting', loaded: 0, total });
    const onUploadProgress = options.onProgress && ((loaded: number, all: number) => options.onProgress!({ phase: 'uploading', loaded, total: all }));
    const client_id = globalThis.crypto.randomUUID().toLowerCase();
    const meta = { ...(attachment ? { attachment_name: attachment.name ?? '', attachment_mime: attachment.mime ?? '' } : {}), client_id };
    if (this.mode === 'server') {
      const body = { recipient, message: text, ...(attachment ? { attachment_data: encodeBase64(attachment.data) } : {}), ...meta };
      return (await this.#http.request<Message>('POST', '/api/messages/send/', body, { idempotent: true, onUploadProgress })).body;
    }
    const send = () => this.#sendEncrypted(recipient, message, meta, options.acceptNewKey === true, onUploadProgress);
    try {
      // A refused send (400) stored nothing, so the re-encrypted one below keeps the client_id.
      return await send();
    } catch (error) {
      // The recipient (or we) rotated between fetching the key and sending: once more with fresh keys.
      const staleKey = error instanceof ValidationError && (error.errors.key_id || error.errors.sender_key_id);
      if (!staleKey) throw error;
      this.#trust.forget(recipient);
      return send();
    }
  }

  async #sendEncrypted(
    recipient: string, message: OutgoingMessage, meta: { client_id: string; attachment_name?: string; attachment_mime?: string }, acceptNewKey: boolean,
    onUploadProgress: UploadProgress | undefined,
  ): Promise<Message> {
    const user = this.#requireUser();
    const [theirs, ours] = await Promise.all([this.#recipientKey(recipient, acceptNewKey), this.keys().then((keys) => keys[0])]);
    if (!ours) throw new InvalidResponseError('The server listed none of your keys.');
    const ownProblem = await publicKeyProblem(ours.public_key);
    if (ownProblem !== null) throw new UnusablePublicKeyError(ownProblem, `Your current public key is unusable: ${ownProblem}. Nothing was sent.`);
    const signer = ours.signing_public_key ? await this.#signingKeyOf(ours, null) : null;
    const fields = await encryptMessage(
      { text: message.text, attachment: message.attachment?.data },
      { recipient: await parsePublicKey(theirs.public_key), sender: await parsePublicKey(ours.public_key) },
    );
    const body: Record<string, unknown> = { recipient, key_id: theirs.key_id, sender_key_id: ours.key_id, ...fields, ...meta };
    if (signer) {
      body.signature = await signMessage(signer.privateKey, {
        sender: user.username, recipient, key_id: theirs.key_id, sender_key_id: ours.key_id, ...fields, ...meta,
      });
    }
    return (await this.#http.request<Message>('POST', '/api/messages/send/', body, { idempotent: true, onUploadProgress })).body;
  }

  /**
   * The recipient's current key, from their checked key chain, after
   * checking that the public-key endpoint names the same one. Throws
   * `UntrustedKeyError` for a key the chain does not vouch for (unless
   * `acceptNewKey`), `UnusablePublicKeyError` for one that fails the checks.
   */
  async #recipientKey(recipient: string, acceptNewKey: boolean): Promise<{ key_id: number; public_key: string }> {
    const entry = this.publicKey(recipient);
    entry.catch(() => {});
    let status: ContactStatus;
    try {
      status = await this.#trust.contact(recipient);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      // A server from before B 11 has no key history: only a recipient without signing keys can be trusted as before.
      const theirs = usableEntry(await entry, recipient);
      if (theirs.signing_public_key && !acceptNewKey) throw new UntrustedKeyError(recipient, 'the server does not list their key history');
      return theirs;
    }
    const theirs = usableEntry(await entry, recipient);
    if (!sameCurrentKey(theirs, status)) {
      status = await this.#trust.contact(recipient, { refresh: true });
      if (!sameCurrentKey(theirs, status)) throw new InvalidResponseError(`The server names two different current keys for ${recipient}. Nothing was sent.`);
    }
    if (status.keyChange === 'unverified') {
      if (!acceptNewKey) throw new UntrustedKeyError(recipient, status.problem ?? 'their current key is not vouched for');
      await this.#trust.accept(recipient);
    }
    const current = status.chain.current!;
    return { key_id: current.key_id, public_key: current.public_key };
  }

  /** Messages as the server sends them (still encrypted), following pages. */
  async *messages(options: ListOptions = {}): AsyncGenerator<Message> {
    yield* this.#pages<Message>(listUrl(options));
  }

  /**
   * The inbox, decrypted, newest first (or oldest first with `afterId`). A
   * message that cannot be parsed or decrypted is yielded with `readable: false`
   * and a `reason`; the others are unaffected.
   */
  async *inbox(options: Omit<ListOptions, 'direction'> = {}): AsyncGenerator<MailboxMessage> {
    yield* this.#opened({ ...options, direction: 'inbox' });
  }

  /** Sent messages, decrypted with their sender copies (unreadable ones as in `inbox`). */
  async *sent(options: Omit<ListOptions, 'direction'> = {}): AsyncGenerator<MailboxMessage> {
    yield* this.#opened({ ...options, direction: 'sent' });
  }

  /** Page by page: each page's signatures are checked together (one key-chain lookup per sender), then its messages decrypted in order. */
  async *#opened(options: ListOptions): AsyncGenerator<MailboxMessage> {
    for await (const page of this.#pageLists<Message>(listUrl(options))) {
      this.#requireUnlocked();
      const trust = await this.#trust.check(page);
      for (const [i, message] of page.entries()) yield this.#open(message, trust[i]!);
    }
  }

  async message(id: number): Promise<Message> {
    return (await this.#http.request<Message>('GET', `/api/messages/${id}/`)).body;
  }

  /** One message, opened as in `inbox` (check `readable`). */
  async read(id: number): Promise<MailboxMessage> {
    return this.open(await this.message(id));
  }

  /**
   * Decrypts as recipient, or as sender (with the sender copy) for sent mail,
   * and checks who wrote it (`signature`, `keyChange`, `replayOf`, `verified`,
   * `trustProblem`: see trust.ts). Never throws for what is wrong with the
   * message itself (that gives `readable: false`, or `signature: "invalid"`);
   * throws `DecryptionError` when the keys are locked.
   *
   * @example
   * const m = await client.open(raw);
   * if (m.signature === 'invalid') warn(`Not from ${m.sender.username}: ${m.trustProblem}`);
   */
  async open(message: Message): Promise<MailboxMessage> {
    this.#requireUnlocked();
    const [trust] = await this.#trust.check([message]);
    return this.#open(message, trust!);
  }

  #open(message: Message, trust: MessageTrust): Promise<MailboxMessage> {
    const user = this.#requireUnlocked();
    return openMessage(message, { userId: user.id, keyFor: (keyId) => this.#keys.find(keyId), trust });
  }

  #requireUnlocked(): User {
    const user = this.#requireUser();
    if (!this.#keys.unlocked) throw new KeysLockedError('Keys are locked: log in or unlock with your password first.');
    return user;
  }

  /** As `open`, but a message that cannot be decrypted throws `DecryptionError`. */
  async decrypt(message: Message): Promise<DecryptedMessage> {
    const opened = await this.open(message);
    if (!opened.readable) throw new DecryptionError(`Message ${opened.id} cannot be decrypted: ${opened.reason}.`);
    return opened;
  }

  // ── realtime ───────────────────────────────────────────────────────────

  /**
   * Live messages over a WebSocket (API.md B 9), decrypted as they arrive,
   * with automatic reconnection that resumes from the largest id seen and
   * never delivers an id twice. Needs unlocked keys. See subscription.ts.
   *
   * @example
   * const sub = client.subscribe({ afterId: 0, onMessage: (m) => console.log(m.id, m.readable ? m.text : m.reason) });
   * await sub.ready; // caught up
   * sub.close();
   */
  subscribe(options: SubscribeOptions): Subscription {
    this.#requireUser();
    if (!this.#keys.unlocked) throw new KeysLockedError('Keys are locked: log in or unlock with your password first.');
    return subscribe(
      {
        baseUrl: this.#http.baseUrl,
        token: () => this.#http.token,
        open: (message) => this.#openLive(message),
        check: async (message) => (await this.#trust.check([message]))[0]!,
        read: (id) => this.read(id),
        ensureKey: (keyId, password) => this.#ensureKey(keyId, password),
      },
      options,
    );
  }

  /**
   * A live message: the event leaves out the attachment's ciphertext, which
   * the signature covers, so a signed message with an attachment is fetched
   * whole to be checked (and decrypted) as `read` would.
   */
  async #openLive(event: Message): Promise<MailboxMessage> {
    const signedWithAttachment = event?.has_attachment === true && typeof event.signature === 'string' && Number.isSafeInteger(event.id);
    return this.open(signedWithAttachment ? await this.message(event.id) : event);
  }

  /** After a rotation elsewhere: opens key version `keyId` (both keys) with the password, if this client does not hold it yet. */
  async #ensureKey(keyId: number, password: (() => Promise<string | null>) | null): Promise<boolean> {
    if (this.#keys.find(keyId)) return true;
    if (!password) return false;
    const envelope = (await this.keys()).find((e) => e.key_id === keyId);
    const secret = envelope ? await password() : null;
    if (!envelope || secret === null) return false;
    try {
      this.#keys.addVersion(await openVersion(envelope, secret));
    } catch {
      throw new DecryptionError(`The password does not open your new key version ${keyId}.`);
    }
    const user = this.#user;
    if (user) this.#trust.forget(user.username);
    return true;
  }

  // ── internals ──────────────────────────────────────────────────────────

  async *#pages<T>(first: string): AsyncGenerator<T> {
    for await (const page of this.#pageLists<T>(first)) yield* page;
  }

  async *#pageLists<T>(first: string): AsyncGenerator<T[]> {
    let url: string | null = first;
    while (url) {
      const page: { body: T[]; next: string | null } = await this.#http.request<T[]>('GET', url);
      yield asList(page.body);
      url = page.next;
    }
  }

  async #list<T>(path: string): Promise<T[]> {
    return asList((await this.#http.request<T[]>('GET', path)).body);
  }

  #loginPassword(username: string, password: string): Promise<string> {
    return this.mode === 'e2e' ? deriveLoginSecret(username, password) : Promise.resolve(password);
  }

  #signedIn(result: { user: User; token: string }): void {
    this.#http.token = result.token;
    this.#user = result.user;
  }

  #signedOut(): void {
    this.#http.token = null;
    this.#user = null;
    this.#keys.clear();
  }

  #requireUser(): User {
    if (!this.#user) throw new NotLoggedInError();
    return this.#user;
  }
}

/**
 * The server's password rule, checked here too: in e2e mode the server only
 * sees the login secret, so it cannot check the password itself.
 */
async function checkNewPassword(password: string, field = 'password'): Promise<void> {
  const length = [...password].length;
  const problem = length < 8 || length > 1024 ? 'Password must be 8 to 1024 characters.' : (await isCommonPassword(password)) ? COMMON_PASSWORD_DETAIL : null;
  if (problem) throw new ValidationError(400, problem, { [field]: [problem] });
}

/** What `#newKeyVersion` makes: the register/rotate body fields, and the keys to hold once the server accepts them. */
interface NewKeyVersion {
  body: { public_key: string; signing_public_key: string } & Record<string, unknown>;
  publicKeyPem: string;
  privateKey: CryptoKey;
  signing: DeviceSigningKey;
}

function listUrl(options: ListOptions): string {
  const query = new URLSearchParams({ direction: options.direction ?? 'inbox' });
  if (options.limit) query.set('limit', String(options.limit));
  if (options.beforeId) query.set('before_id', String(options.beforeId));
  if (options.afterId) query.set('after_id', String(options.afterId));
  return `/api/messages/?${query}`;
}

/** The entry, or `UnusablePublicKeyError` (nothing is encrypted to a key that fails the checks). */
function usableEntry(entry: CheckedPublicKeyEntry, recipient: string): CheckedPublicKeyEntry {
  if (entry.keyError !== null) throw new UnusablePublicKeyError(entry.keyError, `${recipient}'s public key is unusable: ${entry.keyError}. Nothing was sent.`);
  return entry;
}

/** The public-key endpoint and the key history name the same current version, RSA key and signing key. */
function sameCurrentKey(entry: CheckedPublicKeyEntry, status: ContactStatus): boolean {
  const current = status.chain.current;
  if (!current || current.key_id !== entry.key_id) return false;
  if (entry.signing_public_key !== undefined && (entry.signing_public_key ?? null) !== current.signing_public_key) return false;
  try {
    const a = publicKeyDer(entry.public_key);
    const b = publicKeyDer(current.public_key);
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  } catch {
    return false;
  }
}

function asList<T>(body: T[]): T[] {
  if (!Array.isArray(body)) throw new InvalidResponseError('The server answered a list request with something that is not a list.');
  return body;
}

async function checkedEntry(entry: PublicKeyEntry): Promise<CheckedPublicKeyEntry> {
  const user = asUser(entry?.user);
  const keyId = entry?.key_id;
  if (user.id === 0 || !Number.isSafeInteger(keyId)) return { user, public_key: '', key_id: 0, keyError: 'the server sent a malformed entry' };
  const publicKey = typeof entry.public_key === 'string' ? entry.public_key : '';
  const signing = typeof entry.signing_public_key === 'string' ? { signing_public_key: entry.signing_public_key } : entry.signing_public_key === null ? { signing_public_key: null } : {};
  const keySignature = typeof entry.key_signature === 'string' || entry.key_signature === null ? { key_signature: entry.key_signature } : {};
  return { user, public_key: publicKey, key_id: keyId, ...signing, ...keySignature, keyError: await publicKeyProblem(publicKey) };
}
