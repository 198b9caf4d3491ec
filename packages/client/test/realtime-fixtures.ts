/**
 * Keys and encrypted messages for tests against the scripted realtime server:
 * bob (id 2, key versions 1 and 2 sealed under PASSWORD) receives mail from
 * alice (id 1), encrypted as a real end-to-end client would.
 */
import { encryptMessage, generateKeyPair, importPublicKey, sealPrivateKey, type Envelope, type Message } from '@securechat/protocol';
import type { FakeRealtimeServer } from './fake-realtime-server.ts';

export const PASSWORD = 'bob-password-1';
export const ALICE = { id: 1, username: 'alice' };
export const BOB = { id: 2, username: 'bob' };

export interface Fixtures {
  /** Bob's envelopes by key version - 1 (sealed with few PBKDF2 rounds: tests only). */
  bobEnvelopes: Envelope[];
  /**
   * A message from alice to bob for key version `keyId` (default 1), stored on
   * `fake` for GET /api/messages/{id}/; returns it as an event carries it
   * (without `encrypted_attachment`).
   */
  mail(fake: FakeRealtimeServer, id: number, text: string, options?: { attachment?: Uint8Array; name?: string; mime?: string; keyId?: number }): Promise<Omit<Message, 'encrypted_attachment'>>;
}

export async function makeFixtures(): Promise<Fixtures> {
  const [alice, v1, v2] = await Promise.all([generateKeyPair(2048), generateKeyPair(2048), generateKeyPair(2048)]);
  const alicePublic = await importPublicKey(alice.publicKey);
  const bobPublic = await Promise.all([v1, v2].map((pair) => importPublicKey(pair.publicKey)));
  const bobEnvelopes = await Promise.all(
    [v1, v2].map(async (pair, i) => ({
      ...(await sealPrivateKey(pair.privateKey, PASSWORD, { iterations: 1000 })),
      public_key: pair.publicKey,
      key_id: i + 1,
      created_at: '2026-11-25T17:00:00.000Z',
    })),
  );
  return {
    bobEnvelopes,
    async mail(fake, id, text, options = {}) {
      const keyId = options.keyId ?? 1;
      const fields = await encryptMessage({ text, attachment: options.attachment }, { recipient: bobPublic[keyId - 1]!, sender: alicePublic });
      const message: Message = {
        id, sender: ALICE, recipient: BOB, ...fields,
        attachment_name: options.attachment ? (options.name ?? 'report.pdf') : '',
        attachment_mime: options.attachment ? (options.mime ?? 'application/pdf') : '',
        sent_at: '2026-11-25T17:56:00.000Z', has_attachment: options.attachment !== undefined, key_id: keyId, sender_key_id: 1, client_id: null,
      };
      fake.messages.set(id, message);
      const { encrypted_attachment: _, ...event } = message;
      return event;
    },
  };
}
