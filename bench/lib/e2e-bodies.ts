/**
 * End-to-end send bodies for the load worker (bench/signed-sends.ts): made
 * before the run, each with its own client_id and — for a sender with a
 * signing key — its Ed25519 signature over the protocol's canonical bytes
 * (packages/protocol, the same code clients use), signed with node:crypto.
 * Only the client_id and signature differ between bodies, so each is kept as
 * those two strings and joined to its sender/recipient's fixed JSON when sent.
 */
import { messageSigningBytesFromDigests } from '@securechat/protocol';
import { createHash, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { E2eLoad } from './types.ts';

const sha256 = (base64: string) => createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64');
const EMPTY = createHash('sha256').digest('base64');

export function makeE2eBodies(load: E2eLoad): { next(): { token: string; body: string }; reused(): number } {
  const digests = { encrypted_message: sha256(load.ciphertext.encrypted_message), encrypted_attachment: EMPTY };
  const keys: Array<KeyObject | null> = load.senders.map((s) => (s.signingKey ? createPrivateKey({ key: Buffer.from(s.signingKey, 'base64'), format: 'der', type: 'pkcs8' }) : null));
  const pairs = load.senders.flatMap((sender, s) => load.recipients.map((recipient) => ({ s, sender, recipient })));
  const rests = pairs.map(({ sender, recipient }) =>
    JSON.stringify({ recipient: recipient.username, key_id: recipient.keyId, sender_key_id: sender.keyId, ...load.ciphertext }).slice(1),
  );
  const bodies: Array<{ pair: number; prefix: string }> = [];
  for (let i = 0; i < load.bodies; i++) {
    const pair = i % pairs.length;
    const { s, sender, recipient } = pairs[pair]!;
    const clientId = randomUUID();
    let prefix = `{"client_id":"${clientId}",`;
    const key = keys[s];
    if (key) {
      const bytes = messageSigningBytesFromDigests(
        { sender: sender.username, recipient: recipient.username, client_id: clientId, key_id: recipient.keyId, sender_key_id: sender.keyId, ...load.ciphertext },
        digests,
      );
      prefix += `"signature":"${sign(null, bytes, key).toString('base64')}",`;
    }
    bodies.push({ pair, prefix });
  }
  let at = 0;
  return {
    next() {
      const body = bodies[at % bodies.length]!;
      at += 1;
      return { token: pairs[body.pair]!.sender.token, body: body.prefix + rests[body.pair] };
    },
    reused: () => Math.max(0, at - bodies.length),
  };
}
