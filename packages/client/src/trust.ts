/**
 * Who said what (API.md B 11), checked here and never taken from the server:
 * every message's signature against its sender's signing key of
 * `sender_key_id`, where that key comes from the sender's key chain
 * (`GET /api/users/{username}/keys/`, each version vouched for by the one
 * before) and must be reachable from the key pinned for the sender.
 *
 * Per message the SDK reports:
 * - `signature`: `"valid"` — signed by the sender's key of `sender_key_id`,
 *   a key this client trusts (the pinned key or one vouched for from it);
 *   `"invalid"` — anything else for a message that is or should be signed:
 *   a signature that does not match (altered, re-labelled, moved), one by a
 *   key nobody vouched for or by another version's key, a repeated
 *   `client_id` (`replayOf`), or no signature although the sender's key
 *   version signs everything it sends; `"unsigned"` — server-mode senders
 *   and older messages: nothing proves who wrote them.
 * - `keyChange` of the key behind the message: `"none"` — a pinned key;
 *   `"rotated"` — a later key, vouched for link by link from a pinned one;
 *   `"unverified"` — a key the chain does not connect to the pin (warn
 *   loudly: the server may have replaced it).
 *
 * Chains are cached per client for five minutes, and fetched again at once
 * when a message names a key version the cached chain does not have yet.
 *
 * Replays: a message whose sender and `client_id` this client has already
 * seen on a message with another id (with a valid signature) is `"invalid"`
 * with `replayOf` set to that id. The SDK cannot know which copy the sender
 * sent (the server chooses ids): it flags the one it sees second, checking a
 * page in increasing id order, so within a page the later id is flagged.
 */
import {
  importVerifyKey, lowercaseUsername, safetyNumber as computeSafetyNumber, verifyKeyChain, verifyMessageSignature, type ChainLink, type KeyChain,
  type KeyChange, type KeyVersion, type Message, type User,
} from '@securechat/protocol';
import { InvalidResponseError, NoSigningKeyError, NotFoundError, UntrustedKeyError } from './errors.ts';
import type { ContactPin, PinStore } from './pins.ts';

export type { KeyChange, KeyChain };

export type SignatureStatus = 'valid' | 'invalid' | 'unsigned';

/** What the SDK found about who wrote a message; on every message it opens. */
export interface MessageTrust {
  signature: SignatureStatus;
  keyChange: KeyChange;
  /** The id of the message first seen with this sender and `client_id`, when this one repeats it (then `signature` is `"invalid"`); else null. */
  replayOf: number | null;
  /** `signature` is `"valid"` and `keyChange` is not `"unverified"`: as far as this client can tell, the sender wrote exactly this. */
  verified: boolean;
  /** Why it is not verified, as a sentence fragment (e.g. "its signature does not match the message"); null when verified. */
  trustProblem: string | null;
}

/** A contact's keys as this client sees them now. */
export interface ContactStatus {
  /** Lowercased. */
  username: string;
  /** Their current key version (0 when the server lists none). */
  keyId: number;
  /** Their current version has a signing key: their messages can be verified. */
  signs: boolean;
  /** Of their current key, relative to the pin (`"none"` also for contacts without signing keys). */
  keyChange: KeyChange;
  /** The user confirmed the safety number (`markVerified`), and the chain still runs from that key to the current one. */
  verified: boolean;
  /** Why `keyChange` is `"unverified"`, as a sentence fragment; else null. */
  problem: string | null;
  /** The pin after this check (made now on first use); null for a contact without signing keys. */
  pin: ContactPin | null;
  /** Their checked key history. */
  chain: KeyChain;
}

/** What the trust book needs from its client. */
export interface TrustHost {
  /** `GET /api/users/{username}/keys/`. */
  keyVersions(username: string): Promise<KeyVersion[]>;
  /** The reader (null when logged out). */
  user(): User | null;
  /** The public halves of the reader's own signing keys held in memory, by version. */
  ownSigningKeys(): Map<number, string>;
}

const CHAIN_TTL_MS = 5 * 60_000;
/** A message naming a version the cached chain lacks fetches the chain again, at most this often per contact. */
const REFETCH_MIN_MS = 2_000;
const MAX_CHAINS = 1_000;
const MAX_SEEN = 100_000;
const MAX_VERIFY_KEYS = 1_000;
/** After a 404 for a sender's key history (a server without B 11, a fake), messages do not ask again for this long. */
const MISSING_TTL_MS = 10_000;

interface CachedChain {
  at: number;
  chain: Promise<KeyChain>;
  /** Fetched again because a message named this version: not fetched again for it for a while. */
  forKeyId?: number;
}

interface SenderContext {
  chain: KeyChain | null;
  pin: ContactPin | null;
  error: string | null;
}

export class TrustBook {
  readonly #host: TrustHost;
  readonly #pins: PinStore;
  readonly #chains = new Map<string, CachedChain>();
  readonly #verifyKeys = new Map<string, Promise<CryptoKey>>();
  /** `${sender id}/${client_id}` → the id of the first message seen with it (valid signatures only). */
  readonly #seen = new Map<string, number>();
  /** Senders whose key history the server answered 404 for, and when (message checks only). */
  readonly #missing = new Map<string, number>();

  constructor(host: TrustHost, pins: PinStore) {
    this.#host = host;
    this.#pins = pins;
  }

  // ── chains ─────────────────────────────────────────────────────────────

  /**
   * The contact's checked key chain, from the cache when it is recent enough
   * (and, with `minKeyId`, has that version); `refresh` always fetches.
   */
  async chain(username: string, options: { refresh?: boolean; minKeyId?: number } = {}): Promise<KeyChain> {
    const name = lowercaseUsername(username);
    const cached = this.#chains.get(name);
    const age = cached ? Date.now() - cached.at : Infinity;
    if (cached && !options.refresh && age < CHAIN_TTL_MS) {
      const chain = await cached.chain.catch(() => null);
      const minKeyId = options.minKeyId;
      const hasVersion = (c: KeyChain) => minKeyId === undefined || c.links.some((l) => l.key_id >= minKeyId);
      // A version the server did not list a moment ago, asked for again: no new request (a forged message per second must not cost one).
      const justAsked = minKeyId !== undefined && (cached.forKeyId ?? 0) >= minKeyId && age < REFETCH_MIN_MS;
      if (chain && (hasVersion(chain) || justAsked)) return chain;
    }
    const entry: CachedChain = { at: Date.now(), chain: this.#fetchChain(name), ...(options.minKeyId !== undefined ? { forKeyId: options.minKeyId } : {}) };
    this.#chains.delete(name);
    this.#chains.set(name, entry);
    if (this.#chains.size > MAX_CHAINS) this.#chains.delete(this.#chains.keys().next().value!);
    entry.chain.catch(() => {
      if (this.#chains.get(name) === entry) this.#chains.delete(name);
    });
    return entry.chain;
  }

  /** Forgets the cached chain (after the server said the contact's key changed). */
  forget(username: string): void {
    this.#chains.delete(lowercaseUsername(username));
  }

  async #fetchChain(name: string): Promise<KeyChain> {
    const versions = await this.#host.keyVersions(name);
    if (!Array.isArray(versions) || !versions.every(isKeyVersion)) throw new InvalidResponseError(`The server sent a malformed key history for ${name}.`);
    return verifyKeyChain(name, versions);
  }

  // ── pins and contacts ──────────────────────────────────────────────────

  /** The contact's pin; made now from their first signing key on first use. */
  async #pinFor(name: string, chain: KeyChain | null): Promise<ContactPin | null> {
    const pin = (await this.#pins.get(name)) ?? null;
    if (pin || !chain?.firstSigningKey) return pin;
    const fresh: ContactPin = { username: name, signingPublicKey: chain.firstSigningKey, previousKeys: [], pinnedAt: new Date().toISOString(), verifiedKey: null, verifiedAt: null };
    await this.#pins.set(fresh);
    return fresh;
  }

  /** The contact's current key against their pin (pinning on first use). Throws the SDK's errors when the server cannot list their keys. */
  async contact(username: string, options: { refresh?: boolean } = {}): Promise<ContactStatus> {
    const name = lowercaseUsername(username);
    const chain = await this.chain(name, options);
    return this.#status(name, chain, await this.#pinFor(name, chain));
  }

  #status(name: string, chain: KeyChain, pin: ContactPin | null): ContactStatus {
    const resolved = resolve(name, chain, null, pin);
    const current = chain.current;
    const verified =
      pin?.verifiedKey != null && pin.verifiedKey === chain.firstSigningKey && resolved.keyChange !== 'unverified' && current?.trusted === true;
    return {
      username: name,
      keyId: current?.key_id ?? 0,
      signs: current?.signing_public_key != null,
      keyChange: resolved.keyChange,
      verified,
      problem: resolved.problem,
      pin,
      chain,
    };
  }

  /**
   * The user consents to the contact's current key although the chain does
   * not vouch for it: it becomes their pinned key (the earlier pin is kept
   * for older messages) and the verified mark is dropped.
   */
  async accept(username: string): Promise<ContactStatus> {
    const status = await this.contact(username, { refresh: true });
    const current = status.chain.current;
    if (status.keyChange !== 'unverified' || !current?.signing_public_key) return status;
    const old = status.pin;
    const pin: ContactPin = {
      username: status.username,
      signingPublicKey: current.signing_public_key,
      previousKeys: old ? [...old.previousKeys, old.signingPublicKey].filter((k) => k !== current.signing_public_key) : [],
      pinnedAt: new Date().toISOString(),
      verifiedKey: null,
      verifiedAt: null,
    };
    await this.#pins.set(pin);
    return this.#status(status.username, status.chain, pin);
  }

  /** Records that the user compared safety numbers with the contact and they matched. */
  async markVerified(username: string): Promise<ContactStatus> {
    const status = await this.contact(username, { refresh: true });
    const first = status.chain.firstSigningKey;
    if (!first || !status.pin) throw noSigningKey(status.username);
    if (status.keyChange === 'unverified' || status.chain.current?.trusted !== true) {
      const reason = status.problem ?? `their current key is not vouched for by their first key`;
      throw new UntrustedKeyError(
        status.username,
        reason,
        `${status.username}'s current key cannot be verified with a safety number: ${reason}. The safety number covers their first signing key only, ` +
          `and nothing vouches for the step from it to their current key. Ask ${status.username} to check their keys, or accept this key first.`,
      );
    }
    const pin: ContactPin = { ...status.pin, verifiedKey: first, verifiedAt: new Date().toISOString() };
    await this.#pins.set(pin);
    return this.#status(status.username, status.chain, pin);
  }

  /** The 60-digit safety number of the reader and the contact, in groups of five (API.md B 11). */
  async safetyNumber(username: string): Promise<string> {
    const me = this.#host.user();
    if (!me) throw new Error('Not logged in.');
    const [mine, theirs] = await Promise.all([this.chain(me.username, { refresh: true }), this.chain(username, { refresh: true })]);
    const ownFirst = mine.firstSigningKey;
    if (!ownFirst) {
      throw new NoSigningKeyError(me.username, 'You have no signing key yet (your account predates signatures or is a server-mode account): rotate your keys once to make one.');
    }
    const firstVersion = mine.links.find((l) => l.signing_public_key === ownFirst)!.key_id;
    const held = this.#host.ownSigningKeys().get(firstVersion);
    if (held !== undefined && held !== ownFirst) throw new InvalidResponseError(`The server lists a signing key for your key version ${firstVersion} that is not yours.`);
    if (!theirs.firstSigningKey) throw noSigningKey(lowercaseUsername(username));
    return computeSafetyNumber({ username: me.username, signingPublicKey: ownFirst }, { username, signingPublicKey: theirs.firstSigningKey });
  }

  // ── messages ───────────────────────────────────────────────────────────

  /** Checks a page of messages (replays in increasing id order); never throws for what is wrong with a message or a chain. */
  async check(messages: readonly Message[]): Promise<MessageTrust[]> {
    const me = this.#host.user();
    const own = this.#host.ownSigningKeys();
    const needed = new Map<string, number>();
    for (const m of messages) {
      if (!wellFormed(m)) continue;
      if (me && m.sender.id === me.id && m.sender_key_id != null && own.has(m.sender_key_id)) continue;
      const name = lowercaseUsername(m.sender.username);
      needed.set(name, Math.max(needed.get(name) ?? 0, m.sender_key_id ?? 0));
    }
    const senders = new Map<string, SenderContext>();
    await Promise.all(
      [...needed].map(async ([name, minKeyId]) => {
        let chain: KeyChain | null = null;
        let error: string | null = null;
        const missingAt = this.#missing.get(name);
        if (missingAt !== undefined && Date.now() - missingAt < MISSING_TTL_MS) {
          error = 'the server answered 404 for their key history';
        } else {
          try {
            chain = await this.chain(name, minKeyId > 0 ? { minKeyId } : {});
            this.#missing.delete(name);
          } catch (e) {
            error = e instanceof Error ? e.message : String(e);
            if (e instanceof NotFoundError) {
              this.#missing.delete(name);
              this.#missing.set(name, Date.now());
              if (this.#missing.size > MAX_CHAINS) this.#missing.delete(this.#missing.keys().next().value!);
            }
          }
        }
        let pin: ContactPin | null = null;
        try {
          pin = await this.#pinFor(name, chain);
        } catch {
          // a pin store that fails: checked as on first use, pinned next time
        }
        senders.set(name, { chain, pin, error });
      }),
    );
    const results = await Promise.all(messages.map((m) => this.#checkOne(m, me, own, senders)));
    const byId = messages.map((_, i) => i).sort((a, b) => idOf(messages[a]!) - idOf(messages[b]!));
    for (const i of byId) {
      const m = messages[i]!;
      if (results[i]!.signature !== 'valid' || typeof m.client_id !== 'string') continue;
      const key = `${m.sender.id}/${m.client_id}`;
      const first = this.#seen.get(key);
      if (first === undefined) {
        this.#seen.set(key, m.id);
        if (this.#seen.size > MAX_SEEN) this.#seen.delete(this.#seen.keys().next().value!);
      } else if (first !== m.id) {
        results[i] = {
          ...results[i]!,
          signature: 'invalid',
          replayOf: first,
          verified: false,
          trustProblem: `it repeats message #${first} (the same sender and client_id): a replay, not a new message`,
        };
      }
    }
    return results;
  }

  async #checkOne(m: Message, me: User | null, own: Map<number, string>, senders: Map<string, SenderContext>): Promise<MessageTrust> {
    const signed = typeof m?.signature === 'string';
    if (!wellFormed(m)) return trust(signed ? 'invalid' : 'unsigned', 'unverified', 'the server sent it malformed');
    const name = lowercaseUsername(m.sender.username);
    const keyId = m.sender_key_id ?? null;
    const ownKey = me && m.sender.id === me.id && keyId !== null ? own.get(keyId) : undefined;
    if (ownKey !== undefined) {
      if (!signed) return trust('invalid', 'none', `it is unsigned, but your key version ${keyId} signs every message you send`);
      return (await this.#verify(ownKey, m)) ? trust('valid', 'none') : trust('invalid', 'none', BAD_SIGNATURE);
    }
    const sender = senders.get(name);
    if (!sender?.chain) {
      if (!signed && !sender?.pin) return trust('unsigned', 'none');
      const problem = `the server did not list ${name}'s keys${sender?.error ? ` (${sender.error})` : ''}`;
      return trust(signed ? 'invalid' : 'unsigned', sender?.pin ? 'unverified' : 'none', problem);
    }
    const resolved = resolve(name, sender.chain, keyId, sender.pin);
    if (!signed) {
      if (keyId !== null && resolved.link?.signing_public_key) {
        return trust('invalid', resolved.keyChange, `it is unsigned, but ${name}'s key version ${keyId} signs every message it sends`);
      }
      return trust('unsigned', resolved.keyChange, resolved.problem ?? 'it is unsigned: nothing proves who wrote it');
    }
    if (typeof m.client_id !== 'string' || keyId === null) return trust('invalid', resolved.keyChange, 'it is signed but has no client_id or sender key version');
    if (!resolved.key) {
      return trust('invalid', resolved.keyChange, resolved.problem ?? `${name}'s key version ${keyId} has no signing key, so it cannot have signed it`);
    }
    return (await this.#verify(resolved.key, m)) ? trust('valid', resolved.keyChange, resolved.problem) : trust('invalid', resolved.keyChange, BAD_SIGNATURE);
  }

  async #verify(signingPublicKey: string, m: Message): Promise<boolean> {
    let key = this.#verifyKeys.get(signingPublicKey);
    if (!key) {
      key = importVerifyKey(signingPublicKey);
      key.catch(() => this.#verifyKeys.delete(signingPublicKey));
      this.#verifyKeys.set(signingPublicKey, key);
      if (this.#verifyKeys.size > MAX_VERIFY_KEYS) this.#verifyKeys.delete(this.#verifyKeys.keys().next().value!);
    }
    try {
      return await verifyMessageSignature(await key, m);
    } catch {
      return false;
    }
  }
}

const BAD_SIGNATURE = 'its signature does not match the message (altered, re-labelled, or signed by another key)';

/** What a message gets when it could not be checked at all (e.g. keys locked meanwhile). */
export function uncheckedTrust(raw: unknown, reason: string): MessageTrust {
  const signed = typeof (raw as Message | null)?.signature === 'string';
  return trust(signed ? 'invalid' : 'unsigned', 'none', `it could not be checked (${reason})`);
}

function trust(signature: SignatureStatus, keyChange: KeyChange, problem: string | null = null): MessageTrust {
  const verified = signature === 'valid' && keyChange !== 'unverified';
  return { signature, keyChange, replayOf: null, verified, trustProblem: verified ? null : (problem ?? describeUnverified(signature, keyChange)) };
}

function describeUnverified(signature: SignatureStatus, keyChange: KeyChange): string {
  if (signature === 'unsigned') return 'it is unsigned: nothing proves who wrote it';
  if (keyChange === 'unverified') return 'it is signed by a key nothing vouches for';
  return BAD_SIGNATURE;
}

interface Resolution {
  /** The version asked for (the current one for `keyId` null), or null when the server lists none. */
  link: ChainLink | null;
  /** Its signing key when this client trusts it, else null. */
  key: string | null;
  keyChange: KeyChange;
  problem: string | null;
}

/**
 * Trust in version `keyId` of a contact's chain (the current one for null):
 * its signing key is trusted when it is pinned, or when every link from a
 * pinned key up to it is vouched for by the one before.
 */
function resolve(name: string, chain: KeyChain, keyId: number | null, pin: ContactPin | null): Resolution {
  const pinned = pin ? [pin.signingPublicKey, ...pin.previousKeys] : [];
  const at = keyId === null ? chain.links.length - 1 : chain.links.findIndex((l) => l.key_id === keyId);
  const link = chain.links[at] ?? null;
  if (!link) {
    return { link: null, key: null, keyChange: 'unverified', problem: keyId === null ? `the server lists no keys for ${name}` : `the server lists no key version ${keyId} for ${name}` };
  }
  if (pinned.length > 0 && !chain.links.some((l) => l.signing_public_key !== null && pinned.includes(l.signing_public_key))) {
    return { link, key: null, keyChange: 'unverified', problem: `the signing key pinned for ${name} is gone from their key history` };
  }
  if (link.signing_public_key === null) {
    if (link.status === 'unsigned') return { link, key: null, keyChange: 'none', problem: null };
    return { link, key: null, keyChange: 'unverified', problem: brokenLink(name, link) };
  }
  if (pinned.length === 0) {
    // No pin although the chain has a signing key: the pin store failed. Trust what a first use would.
    return link.trusted ? { link, key: link.signing_public_key, keyChange: 'none', problem: null } : { link, key: null, keyChange: 'unverified', problem: brokenLink(name, link) };
  }
  for (let i = at; i >= 0; i--) {
    const step = chain.links[i]!;
    if (step.signing_public_key !== null && pinned.includes(step.signing_public_key)) {
      return { link, key: link.signing_public_key, keyChange: i === at ? 'none' : 'rotated', problem: null };
    }
    if (step.status !== 'vouched') return { link, key: null, keyChange: 'unverified', problem: brokenLink(name, step) };
  }
  return { link, key: null, keyChange: 'unverified', problem: `${name}'s key version ${link.key_id} is not vouched for by the key pinned for them` };
}

function brokenLink(name: string, link: ChainLink): string {
  const v = `${name}'s key version ${link.key_id}`;
  switch (link.reason) {
    case 'gap':
      return `${v} is out of sequence in their key history`;
    case 'downgrade':
      return `${v} has no signing key although earlier versions had one`;
    case 'bad-signature':
      return `${v} carries a key signature that does not verify`;
    case 'restart':
    case 'no-signer':
      return `${v} is not vouched for by the version before it`;
    default:
      return `${v} is not vouched for by the key pinned for them`;
  }
}

function noSigningKey(name: string): NoSigningKeyError {
  return new NoSigningKeyError(
    name,
    `${name} has no signing key (a server-mode account, or one from before signatures), so there is no safety number to compare; their messages stay unsigned until they rotate their keys.`,
  );
}

function wellFormed(m: Message): boolean {
  if (typeof m !== 'object' || m === null) return false;
  const sender = m.sender as User | null;
  if (typeof sender !== 'object' || sender === null || !isId(sender.id) || typeof sender.username !== 'string') return false;
  if (m.sender_key_id != null && !isId(m.sender_key_id)) return false;
  if (m.client_id != null && typeof m.client_id !== 'string') return false;
  return m.signature == null || typeof m.signature === 'string';
}

function isKeyVersion(value: unknown): value is KeyVersion {
  const v = value as KeyVersion | null;
  return (
    typeof v === 'object' && v !== null && Number.isSafeInteger(v.key_id) && typeof v.public_key === 'string' &&
    (v.signing_public_key == null || typeof v.signing_public_key === 'string') && (v.key_signature == null || typeof v.key_signature === 'string')
  );
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function idOf(m: Message): number {
  return isId(m?.id) ? m.id : 0;
}
