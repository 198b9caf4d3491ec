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
 * for await (const message of client.inbox()) console.log(message.sender.username, message.text);
 */
import {
  deriveLoginSecret, encodeBase64, encryptMessage, generateKeyPair, importPrivateKey, isCommonPassword, openEnvelope, sealPrivateKey,
  COMMON_PASSWORD_DETAIL, DEFAULT_ITERATIONS, type Envelope, type Message, type PublicKeyEntry, type Session, type User,
} from '@securechat/protocol';
import { DecryptionError, InvalidResponseError, NotLoggedInError, UnusablePublicKeyError, ValidationError } from './errors.ts';
import { Keychain } from './keychain.ts';
import { asUser, openMessage, type DecryptedMessage, type MailboxMessage } from './open-message.ts';
import { parsePublicKey, publicKeyProblem } from './public-key.ts';
import { subscribe, type SubscribeOptions, type Subscription } from './subscription.ts';
import { Transport, type RetryOptions } from './transport.ts';
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
  #user: User | null = null;

  constructor(options: ClientOptions) {
    this.mode = options.mode ?? 'e2e';
    this.#http = new Transport(options);
    this.#kdfIterations = options.kdfIterations ?? DEFAULT_ITERATIONS;
    this.#rsaBits = options.rsaBits ?? 2048;
    if (options.session) {
      this.#http.token = options.session.token;
      this.#user = options.session.user;
      for (const [keyId, key] of options.keys ?? []) this.#keys.add(keyId, key);
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

  async limits(): Promise<ServerLimits> {
    return (await this.#http.request<ServerLimits>('GET', '/api/limits/')).body;
  }

  // ── accounts ───────────────────────────────────────────────────────────

  async register(username: string, password: string): Promise<{ user: User; token: string }> {
    await checkNewPassword(password);
    let body: Record<string, unknown> = { username, password };
    let privateKeyPem: string | null = null;
    if (this.mode === 'e2e') {
      const pair = await generateKeyPair(this.#rsaBits);
      privateKeyPem = pair.privateKey;
      const envelope = await sealPrivateKey(pair.privateKey, password, { iterations: this.#kdfIterations });
      body = { username, password: await deriveLoginSecret(username, password), public_key: pair.publicKey, ...envelope };
    }
    const { body: result } = await this.#http.request<{ user: User; token: string; profile: Envelope }>('POST', '/api/auth/register/', body);
    this.#signedIn(result);
    if (privateKeyPem) this.#keys.add(result.profile.key_id, await importPrivateKey(privateKeyPem));
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

  /** For a resumed session: opens every envelope with the password, in memory. */
  async unlock(password: string): Promise<void> {
    await this.#keys.unlock(await this.keys(), password);
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
    const pair = await generateKeyPair(this.#rsaBits);
    const sealed = await sealPrivateKey(pair.privateKey, password, { iterations: this.#kdfIterations });
    const { body: envelope } = await this.#http.request<Envelope>('POST', '/api/keys/rotate/', {
      password: await deriveLoginSecret(user.username, password),
      public_key: pair.publicKey,
      ...sealed,
    });
    this.#keys.add(envelope.key_id, await importPrivateKey(pair.privateKey));
    return envelope;
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
        const pem = await openEnvelope(envelope, oldPassword).catch(() => {
          throw new ValidationError(400, 'Password is incorrect.', { old_password: ['Password is incorrect.'] });
        });
        return { key_id: envelope.key_id, ...(await sealPrivateKey(pem, newPassword, { iterations: this.#kdfIterations })) };
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

  // ── messages ───────────────────────────────────────────────────────────

  /**
   * Sends text and/or an attachment; in e2e mode it is encrypted here, with a sender copy.
   *
   * Exactly once (API B10): the message gets a fresh `client_id`, and after a
   * network error, a timeout or a 502/503/504 the very same request is sent
   * again (ClientOptions.retry); the server stores it once and answers a
   * repeat with the message it stored.
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
    try {
      // A refused send (400) stored nothing, so the re-encrypted one below keeps the client_id.
      return await this.#sendEncrypted(recipient, message, meta, onUploadProgress);
    } catch (error) {
      // The recipient (or we) rotated between fetching the key and sending: once more with fresh keys.
      const staleKey = error instanceof ValidationError && (error.errors.key_id || error.errors.sender_key_id);
      if (!staleKey) throw error;
      return this.#sendEncrypted(recipient, message, meta, onUploadProgress);
    }
  }

  async #sendEncrypted(recipient: string, message: OutgoingMessage, meta: object, onUploadProgress: UploadProgress | undefined): Promise<Message> {
    const [theirs, ours] = await Promise.all([this.publicKey(recipient), this.keys().then((keys) => keys[0])]);
    if (theirs.keyError !== null) {
      throw new UnusablePublicKeyError(theirs.keyError, `${recipient}'s public key is unusable: ${theirs.keyError}. Nothing was sent.`);
    }
    if (!ours) throw new InvalidResponseError('The server listed none of your keys.');
    const ownProblem = await publicKeyProblem(ours.public_key);
    if (ownProblem !== null) throw new UnusablePublicKeyError(ownProblem, `Your current public key is unusable: ${ownProblem}. Nothing was sent.`);
    const fields = await encryptMessage(
      { text: message.text, attachment: message.attachment?.data },
      { recipient: await parsePublicKey(theirs.public_key), sender: await parsePublicKey(ours.public_key) },
    );
    const body = { recipient, key_id: theirs.key_id, sender_key_id: ours.key_id, ...fields, ...meta };
    return (await this.#http.request<Message>('POST', '/api/messages/send/', body, { idempotent: true, onUploadProgress })).body;
  }

  /** Messages as the server sends them (still encrypted), following pages. */
  async *messages(options: ListOptions = {}): AsyncGenerator<Message> {
    const query = new URLSearchParams({ direction: options.direction ?? 'inbox' });
    if (options.limit) query.set('limit', String(options.limit));
    if (options.beforeId) query.set('before_id', String(options.beforeId));
    if (options.afterId) query.set('after_id', String(options.afterId));
    yield* this.#pages<Message>(`/api/messages/?${query}`);
  }

  /**
   * The inbox, decrypted, newest first (or oldest first with `afterId`). A
   * message that cannot be parsed or decrypted is yielded with `readable: false`
   * and a `reason`; the others are unaffected.
   */
  async *inbox(options: Omit<ListOptions, 'direction'> = {}): AsyncGenerator<MailboxMessage> {
    for await (const message of this.messages({ ...options, direction: 'inbox' })) yield this.open(message);
  }

  /** Sent messages, decrypted with their sender copies (unreadable ones as in `inbox`). */
  async *sent(options: Omit<ListOptions, 'direction'> = {}): AsyncGenerator<MailboxMessage> {
    for await (const message of this.messages({ ...options, direction: 'sent' })) yield this.open(message);
  }

  async message(id: number): Promise<Message> {
    return (await this.#http.request<Message>('GET', `/api/messages/${id}/`)).body;
  }

  /** One message, opened as in `inbox` (check `readable`). */
  async read(id: number): Promise<MailboxMessage> {
    return this.open(await this.message(id));
  }

  /**
   * Decrypts as recipient, or as sender (with the sender copy) for sent mail.
   * Never throws for what is wrong with the message itself (that gives
   * `readable: false`); throws `DecryptionError` when the keys are locked.
   */
  async open(message: Message): Promise<MailboxMessage> {
    const user = this.#requireUser();
    if (!this.#keys.unlocked) throw new DecryptionError('Keys are locked: log in or unlock with your password first.');
    return openMessage(message, { userId: user.id, keyFor: (keyId) => this.#keys.find(keyId) });
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
    if (!this.#keys.unlocked) throw new DecryptionError('Keys are locked: log in or unlock with your password first.');
    return subscribe(
      {
        baseUrl: this.#http.baseUrl,
        token: () => this.#http.token,
        open: (message) => this.open(message),
        read: (id) => this.read(id),
        ensureKey: (keyId, password) => this.#ensureKey(keyId, password),
      },
      options,
    );
  }

  /** After a rotation elsewhere: opens key version `keyId` with the password, if this client does not hold it yet. */
  async #ensureKey(keyId: number, password: (() => Promise<string | null>) | null): Promise<boolean> {
    if (this.#keys.find(keyId)) return true;
    if (!password) return false;
    const envelope = (await this.keys()).find((e) => e.key_id === keyId);
    const secret = envelope ? await password() : null;
    if (!envelope || secret === null) return false;
    try {
      this.#keys.add(keyId, await importPrivateKey(await openEnvelope(envelope, secret)));
      return true;
    } catch {
      throw new DecryptionError(`The password does not open your new key version ${keyId}.`);
    }
  }

  // ── internals ──────────────────────────────────────────────────────────

  async *#pages<T>(first: string): AsyncGenerator<T> {
    let url: string | null = first;
    while (url) {
      const page: { body: T[]; next: string | null } = await this.#http.request<T[]>('GET', url);
      yield* asList(page.body);
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

function asList<T>(body: T[]): T[] {
  if (!Array.isArray(body)) throw new InvalidResponseError('The server answered a list request with something that is not a list.');
  return body;
}

async function checkedEntry(entry: PublicKeyEntry): Promise<CheckedPublicKeyEntry> {
  const user = asUser(entry?.user);
  const keyId = entry?.key_id;
  if (user.id === 0 || !Number.isSafeInteger(keyId)) return { user, public_key: '', key_id: 0, keyError: 'the server sent a malformed entry' };
  const publicKey = typeof entry.public_key === 'string' ? entry.public_key : '';
  return { user, public_key: publicKey, key_id: keyId, keyError: await publicKeyProblem(publicKey) };
}
