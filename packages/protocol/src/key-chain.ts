/**
 * Key chains (Part B 11): a user's key versions, oldest first, as
 * `GET /api/users/{username}/keys/` lists them, checked link by link — so a
 * client can tell "Alice rotated her key" (each version vouched for by the
 * one before) from "the server replaced Alice's key" (a version nobody
 * vouched for).
 *
 * The rules, as the server enforces them and a client re-checks them:
 * - versions run 1, 2, 3, … with none missing;
 * - versions before the first signing key are `unsigned` (older accounts,
 *   server-made keys);
 * - the first version with a signing key starts the chain: `key_signature`
 *   null, trusted on first use (`start`);
 * - every later version has a signing key and a `key_signature` by the
 *   previous version's signing key over `keyLinkBytes` (`vouched`).
 * Anything else is `broken`, with a reason. A link is `trusted` when it is the
 * start or vouched for by a trusted link.
 *
 * @example
 * const versions = await api.get(`/api/users/${name}/keys/`);
 * const chain = await verifyKeyChain(name, versions);
 * const change = keyChange(chain, pinnedKey); // 'none' | 'rotated' | 'unverified'
 * if (change !== 'unverified' && chain.current?.signing_public_key) pinnedKey = chain.current.signing_public_key;
 * const senderKey = trustedSigningKey(chain, message.sender_key_id); // null: show the message as not verified
 */
import { verifyKeyLink } from './signatures.ts';
import type { KeyVersion } from './types.ts';

export type LinkStatus = 'unsigned' | 'start' | 'vouched' | 'broken';

/**
 * Why a link is broken:
 * - `gap`: its key_id is not the one after the previous version's (missing, repeated or out of order);
 * - `no-signer`: it carries a key_signature but the version before it has no signing key to have made it;
 * - `restart`: a signing key with no key_signature after the chain started (a server must refuse this);
 * - `downgrade`: no signing key after the chain started (a server must refuse this);
 * - `bad-signature`: key_signature does not verify under the previous version's signing key.
 */
export type BrokenReason = 'gap' | 'no-signer' | 'restart' | 'downgrade' | 'bad-signature';

export interface ChainLink {
  key_id: number;
  public_key: string;
  signing_public_key: string | null;
  status: LinkStatus;
  /** Set when `status` is `broken`. */
  reason?: BrokenReason;
  /** The chain start, or vouched for by a trusted link: its signing key may verify messages. */
  trusted: boolean;
}

export interface KeyChain {
  username: string;
  /** One per version given, oldest first. */
  links: ChainLink[];
  /** The newest version's link; null for an empty list. */
  current: ChainLink | null;
  /** key_id of the version that starts the chain; null when no version has a signing key. */
  chainStart: number | null;
  /** The signing key of the first version that has one: the key of the safety number. */
  firstSigningKey: string | null;
  /** No link is broken. */
  intact: boolean;
}

/** Checks every link of `username`'s key versions (oldest first, as the keys endpoint lists them). */
export async function verifyKeyChain(username: string, versions: readonly KeyVersion[]): Promise<KeyChain> {
  const links: ChainLink[] = [];
  let started = false;
  for (const [i, version] of versions.entries()) {
    const previous = i > 0 ? versions[i - 1]! : null;
    const link = (status: LinkStatus, reason?: BrokenReason): ChainLink => ({
      key_id: version.key_id,
      public_key: version.public_key,
      signing_public_key: version.signing_public_key ?? null,
      status,
      ...(reason ? { reason } : {}),
      trusted: status === 'start' || (status === 'vouched' && links[i - 1]?.trusted === true),
    });
    const signing = version.signing_public_key ?? null;
    const keySignature = version.key_signature ?? null;
    if (version.key_id !== i + 1) links.push(link('broken', 'gap'));
    else if (!started && signing === null) links.push(keySignature === null ? link('unsigned') : link('broken', 'no-signer'));
    else if (!started) links.push(keySignature === null ? link('start') : link('broken', 'no-signer'));
    else if (signing === null) links.push(link('broken', 'downgrade'));
    else if (keySignature === null) links.push(link('broken', 'restart'));
    else if (!previous?.signing_public_key) links.push(link('broken', 'no-signer'));
    else {
      const vouched = await verifyKeyLink(
        previous.signing_public_key,
        { username, keyId: version.key_id, publicKeyPem: version.public_key, signingPublicKey: signing },
        keySignature,
      );
      links.push(vouched ? link('vouched') : link('broken', 'bad-signature'));
    }
    if (signing !== null) started = true;
  }
  const start = links.find((l) => l.status === 'start') ?? null;
  return {
    username,
    links,
    current: links.at(-1) ?? null,
    chainStart: start?.key_id ?? null,
    firstSigningKey: versions.find((v) => v.signing_public_key)?.signing_public_key ?? null,
    intact: links.every((l) => l.status !== 'broken'),
  };
}

export type KeyChange = 'none' | 'rotated' | 'unverified';

/**
 * How the contact's current key relates to the signing key the client pinned
 * for them (null: none yet, first use):
 * - `none`: the current version's signing key is the pinned one — or, on
 *   first use, the current version is trusted (or nobody has a signing key:
 *   an account from before B 11, whose messages are simply unsigned);
 * - `rotated`: the pinned key is in the chain and every version after it, up
 *   to the current one, is vouched for by the one before;
 * - `unverified`: anything else — the pinned key is gone from the history, a
 *   link after it is broken, or signing keys disappeared. Warn loudly, and do
 *   not encrypt to the current key without the user's consent.
 */
export function keyChange(chain: KeyChain, pinnedSigningKey: string | null): KeyChange {
  const current = chain.current;
  if (!current) return 'unverified';
  if (pinnedSigningKey === null) {
    if (chain.firstSigningKey === null) return 'none';
    return current.trusted ? 'none' : 'unverified';
  }
  if (current.signing_public_key === pinnedSigningKey) return 'none';
  const pinnedAt = chain.links.findIndex((l) => l.signing_public_key === pinnedSigningKey);
  if (pinnedAt < 0) return 'unverified';
  return chain.links.slice(pinnedAt + 1).every((l) => l.status === 'vouched') ? 'rotated' : 'unverified';
}

/**
 * The signing key that verifies messages sent with `senderKeyId`: that
 * version's, when it is trusted — the chain start or vouched for from it —
 * or when it is, or is vouched for from, the key the user pinned (accepted);
 * else null: show the message as not verified.
 */
export function trustedSigningKey(chain: KeyChain, senderKeyId: number | null, pinnedSigningKey: string | null = null): string | null {
  if (senderKeyId === null) return null;
  let at = chain.links.findIndex((l) => l.key_id === senderKeyId);
  const link = chain.links[at];
  if (!link?.signing_public_key) return null;
  if (link.trusted) return link.signing_public_key;
  for (; at >= 0; at--) {
    const step = chain.links[at]!;
    if (pinnedSigningKey !== null && step.signing_public_key === pinnedSigningKey) return link.signing_public_key;
    if (step.status !== 'vouched') return null;
  }
  return null;
}
