import { describe, expect, it } from 'vitest';
import vectors from './vectors/vectors.json' with { type: 'json' };
import {
  decodeBase64,
  decryptMessage,
  deriveLoginSecret,
  encodeBase64,
  encryptMessage,
  encryptPayload,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  isStrictBase64,
  openEnvelope,
  sealPrivateKey,
  unwrapKey,
} from '../src/index.ts';

const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('strict base64', () => {
  it.each(vectors.base64.valid)('decodes %j', (text, hex) => {
    expect(toHex(decodeBase64(text as string))).toBe(hex);
    expect(encodeBase64(fromHex(hex as string))).toBe(text);
  });

  it.each(vectors.base64.invalid)('rejects %j', (text) => {
    expect(isStrictBase64(text)).toBe(false);
    expect(() => decodeBase64(text)).toThrow();
  });

  it('round-trips every byte value and agrees with Buffer', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) % 256);
    for (let length = 0; length < 10; length++) {
      const slice = bytes.subarray(0, length * 97 + length);
      const encoded = encodeBase64(slice);
      expect(encoded).toBe(Buffer.from(slice).toString('base64'));
      expect(toHex(decodeBase64(encoded))).toBe(toHex(slice));
    }
  });
});

describe('envelope vector', () => {
  const v = vectors.envelope;

  it('seals the vector private key to the exact vector bytes', async () => {
    const sealed = await sealPrivateKey(vectors.rsa.private_key, v.password, {
      iterations: v.iterations,
      salt: fromHex(v.salt_hex),
      nonce: fromHex(v.nonce_hex),
    });
    expect(sealed).toEqual(v.sealed);
  });

  it('opens the vector envelope with the password and refuses a wrong one', async () => {
    expect(await openEnvelope(v.sealed, v.password)).toBe(vectors.rsa.private_key);
    await expect(openEnvelope(v.sealed, v.password + 'x')).rejects.toThrow();
  });
});

describe('message vector', () => {
  const v = vectors.message;

  it('encrypts text and attachment to the exact vector ciphertexts', async () => {
    const payload = await encryptPayload(
      { text: v.text, attachment: decodeBase64(v.attachment_b64) },
      fromHex(v.message_key_hex),
      { messageNonce: fromHex(v.message_nonce_hex), attachmentNonce: fromHex(v.attachment_nonce_hex) },
    );
    expect(payload.encrypted_message).toBe(v.encrypted.encrypted_message);
    expect(payload.encrypted_attachment).toBe(v.encrypted.encrypted_attachment);
  });

  it('unwraps the node:crypto-wrapped key and decrypts the vector message', async () => {
    const privateKey = await importPrivateKey(vectors.rsa.private_key);
    expect(toHex(await unwrapKey(v.encrypted.encrypted_symmetric_key, privateKey))).toBe(v.message_key_hex);
    const plain = await decryptMessage({ ...v.encrypted, sender_encrypted_symmetric_key: '' }, privateKey);
    expect(plain.text).toBe(v.text);
    expect(encodeBase64(plain.attachment!)).toBe(v.attachment_b64);
  });

  it('rejects a tampered ciphertext', async () => {
    const privateKey = await importPrivateKey(vectors.rsa.private_key);
    const bytes = decodeBase64(v.encrypted.encrypted_message);
    bytes[0]! ^= 1;
    const tampered = { ...v.encrypted, encrypted_message: encodeBase64(bytes), sender_encrypted_symmetric_key: '' };
    await expect(decryptMessage(tampered, privateKey)).rejects.toThrow();
  });
});

describe('round trip with fresh keys', () => {
  it('recipient and sender both decrypt; empty parts stay empty', async () => {
    const bob = await generateKeyPair();
    const alice = await generateKeyPair();
    const fields = await encryptMessage(
      { text: 'only text' },
      { recipient: await importPublicKey(bob.publicKey), sender: await importPublicKey(alice.publicKey) },
    );
    expect(fields.encrypted_attachment).toBe('');
    expect(fields.attachment_nonce).toBe('');
    expect((await decryptMessage(fields, await importPrivateKey(bob.privateKey))).text).toBe('only text');
    const asSender = await decryptMessage(fields, await importPrivateKey(alice.privateKey), 'sender');
    expect(asSender).toEqual({ text: 'only text', attachment: null });
  });
});

describe('login secret vector', () => {
  it('derives the node:crypto value, lower-casing the username', async () => {
    const v = vectors.login_secret;
    expect(await deriveLoginSecret(v.username, v.password)).toBe(v.secret);
    expect(await deriveLoginSecret(v.username.toLowerCase(), v.password)).toBe(v.secret);
    expect(await deriveLoginSecret(v.username, v.password + '!')).not.toBe(v.secret);
  });
});
