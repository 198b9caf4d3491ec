import { constants, createDecipheriv, generateKeyPairSync, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cipherPoolCounts, encryptOnPool, stopCipherPool } from '../src/crypto/cipher-pool.ts';
import type { MessageCiphertext } from '../src/crypto/hybrid.ts';

const recipient = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sender = generateKeyPairSync('rsa', { modulusLength: 2048 });
const poolKey = (publicKey: KeyObject) => ({ pem: publicKey.export({ type: 'spki', format: 'pem' }) as string, publicKey });
const keys = { recipient: poolKey(recipient.publicKey), sender: poolKey(sender.publicKey) };

afterAll(() => stopCipherPool());

/** Decrypts with node:crypto directly: what the pool produced must be ordinary hybrid ciphertext. */
function decrypt(ciphertext: MessageCiphertext, privateKey: KeyObject, wrapped: string) {
  const messageKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(wrapped, 'base64'));
  const open = (sealed: Buffer, nonce: string) => {
    const decipher = createDecipheriv('aes-256-gcm', messageKey, Buffer.from(nonce, 'base64'));
    decipher.setAuthTag(sealed.subarray(-16));
    return Buffer.concat([decipher.update(sealed.subarray(0, -16)), decipher.final()]);
  };
  const attachment = Buffer.from(ciphertext.encrypted_attachment.toString(), 'base64');
  return {
    text: ciphertext.encrypted_message ? open(Buffer.from(ciphertext.encrypted_message, 'base64'), ciphertext.message_nonce).toString('utf8') : '',
    attachment: attachment.length > 0 ? open(attachment, ciphertext.attachment_nonce) : null,
  };
}

describe('send encryption on the cipher pool', () => {
  it('encrypts on a pool thread, for recipient and sender alike', async () => {
    const before = cipherPoolCounts.onThread;
    const bytes = randomBytes(5000);
    const ciphertext = (await encryptOnPool({ text: 'Grüße 👋', attachment: bytes }, keys, 7))!;
    expect(cipherPoolCounts.onThread).toBe(before + 1);
    for (const [privateKey, wrapped] of [
      [recipient.privateKey, ciphertext.encrypted_symmetric_key],
      [sender.privateKey, ciphertext.sender_encrypted_symmetric_key],
    ] as const) {
      const plain = decrypt(ciphertext, privateKey, wrapped);
      expect(plain.text).toBe('Grüße 👋');
      expect(plain.attachment!.equals(bytes)).toBe(true);
    }
  });

  it('takes an attachment given as base64 bytes and answers with base64 bytes', async () => {
    const bytes = randomBytes(64 * 1024);
    const ciphertext = (await encryptOnPool({ text: '', attachment: { base64: Buffer.from(bytes.toString('base64'), 'latin1') } }, keys, 7))!;
    expect(Buffer.isBuffer(ciphertext.encrypted_attachment)).toBe(true);
    expect(ciphertext.encrypted_message).toBe('');
    expect(decrypt(ciphertext, recipient.privateKey, ciphertext.encrypted_symmetric_key).attachment!.equals(bytes)).toBe(true);
  });

  it('answers null for base64 bytes that are not strict base64', async () => {
    const notBase64 = Buffer.from('A-B_'.repeat(5000), 'latin1');
    expect(await encryptOnPool({ text: 'x', attachment: { base64: notBase64 } }, keys, 7)).toBeNull();
  });

  it("returns one sender's messages in the order they were given", async () => {
    const settled: number[] = [];
    await Promise.all(Array.from({ length: 40 }, (_, i) => encryptOnPool({ text: `m${i}`, attachment: null }, keys, 3).then(() => settled.push(i))));
    expect(settled).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('wraps each send for the keys it names, however many keys the thread has seen', async () => {
    const others = Array.from({ length: 3 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const sends = Array.from({ length: 12 }, (_, i) => ({ text: `to ${i % 3}`, to: others[i % 3]! }));
    const results = await Promise.all(
      sends.map(({ text, to }) => encryptOnPool({ text, attachment: null }, { recipient: poolKey(to.publicKey), sender: keys.sender }, 11)),
    );
    results.forEach((ciphertext, i) => {
      expect(decrypt(ciphertext!, sends[i]!.to.privateKey, ciphertext!.encrypted_symmetric_key).text).toBe(sends[i]!.text);
      expect(decrypt(ciphertext!, sender.privateKey, ciphertext!.sender_encrypted_symmetric_key).text).toBe(sends[i]!.text);
    });
  });

  it('encrypts an attachment of 1 MiB or more on the event loop, without copying it to a thread', async () => {
    const before = { ...cipherPoolCounts };
    const bytes = randomBytes(1024 * 1024);
    const ciphertext = (await encryptOnPool({ text: '', attachment: bytes }, keys, 7))!;
    expect(cipherPoolCounts).toEqual({ onThread: before.onThread, onEventLoop: before.onEventLoop + 1 });
    expect(decrypt(ciphertext, recipient.privateKey, ciphertext.encrypted_symmetric_key).attachment!.equals(bytes)).toBe(true);
  });

  it('finishes the sends of a stopped thread on the event loop, and starts a thread again afterwards', async () => {
    const before = { ...cipherPoolCounts };
    const sends = Array.from({ length: 20 }, (_, i) => encryptOnPool({ text: `pending ${i}`, attachment: null }, keys, 5));
    const stopped = stopCipherPool();
    const ciphertexts = await Promise.all(sends);
    await stopped;
    ciphertexts.forEach((ciphertext, i) => expect(decrypt(ciphertext!, recipient.privateKey, ciphertext!.encrypted_symmetric_key).text).toBe(`pending ${i}`));
    // each send encrypted exactly once, wherever
    expect(cipherPoolCounts.onThread + cipherPoolCounts.onEventLoop).toBe(before.onThread + before.onEventLoop + 20);
    const onThread = cipherPoolCounts.onThread;
    await encryptOnPool({ text: 'after', attachment: null }, keys, 5);
    expect(cipherPoolCounts.onThread).toBe(onThread + 1);
  });

  it('moves a base64 attachment to the thread; a stopped thread fails such a send rather than encrypting an emptied one', async () => {
    const bytes = randomBytes(64 * 1024);
    const moved = { base64: Buffer.from(bytes.toString('base64'), 'latin1') };
    await encryptOnPool({ text: '', attachment: moved }, keys, 9);
    expect(moved.base64.byteLength).toBe(0); // its memory went to the thread

    const sends = Array.from({ length: 4 }, () => encryptOnPool({ text: '', attachment: { base64: Buffer.from(bytes.toString('base64'), 'latin1') } }, keys, 9));
    await stopCipherPool();
    for (const outcome of await Promise.allSettled(sends)) {
      if (outcome.status === 'rejected') expect(outcome.reason.message).toMatch(/stopped while it held this attachment/);
      else expect(decrypt(outcome.value!, recipient.privateKey, outcome.value!.encrypted_symmetric_key).attachment!.equals(bytes)).toBe(true);
    }
  });
});
