/** Part B 11: our code reproduces every vector of signatures.json (made by make_vectors.py with Python, not by us). */
import { describe, expect, it } from 'vitest';
import base from './vectors/vectors.json' with { type: 'json' };
import v from './vectors/signatures.json' with { type: 'json' };
import {
  decodeBase64,
  EMPTY_SHA256,
  encodeBase64,
  generateSigningKeyPair,
  importSigningKey,
  keyChange,
  keyLinkBytes,
  messageSigningBytes,
  openEnvelope,
  openEnvelopeKeys,
  safetyNumber,
  sealPrivateKey,
  sha256Line,
  signBytes,
  signingPublicKeyOf,
  signKeyLink,
  signMessage,
  trustedSigningKey,
  utf8Decode,
  utf8Encode,
  verifyKeyChain,
  verifyKeyLink,
  verifyMessageSignature,
  verifySignature,
  type KeyVersion,
  type Message,
  type MessageSigningFields,
} from '../src/index.ts';

const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const signingKey = (i: number) => importSigningKey(decodeBase64(v.signing_keys[i]!.pkcs8));
const pub = (i: number) => v.signing_keys[i]!.public_key;

/** A message object as the API returns it, carrying the vector's fields. */
function asMessage(fields: MessageSigningFields, signature: string | null): Message {
  return {
    id: 7,
    sender: { id: 1, username: fields.sender },
    recipient: { id: 2, username: fields.recipient },
    encrypted_message: fields.encrypted_message ?? '',
    encrypted_attachment: fields.encrypted_attachment ?? '',
    attachment_name: fields.attachment_name ?? '',
    attachment_mime: fields.attachment_mime ?? '',
    encrypted_symmetric_key: fields.encrypted_symmetric_key,
    message_nonce: fields.message_nonce ?? '',
    attachment_nonce: fields.attachment_nonce ?? '',
    sent_at: '2026-11-25T16:30:00.000Z',
    has_attachment: Boolean(fields.encrypted_attachment),
    key_id: fields.key_id,
    sender_encrypted_symmetric_key: fields.sender_encrypted_symmetric_key ?? '',
    sender_key_id: fields.sender_key_id,
    client_id: fields.client_id,
    signature,
  };
}

describe('signing keys', () => {
  it('derives the RFC 8032 public keys from the PKCS#8 private keys', async () => {
    for (const key of v.signing_keys) expect(await signingPublicKeyOf(decodeBase64(key.pkcs8))).toBe(key.public_key);
  });

  it('signs deterministically and verifies; a fresh pair round-trips', async () => {
    const pair = await generateSigningKeyPair();
    expect(decodeBase64(pair.publicKey)).toHaveLength(32);
    const key = await importSigningKey(pair.privateKey);
    expect(key.extractable).toBe(false);
    const signature = await signBytes(key, utf8Encode('hello'));
    expect(decodeBase64(signature)).toHaveLength(64);
    expect(await signBytes(key, utf8Encode('hello'))).toBe(signature);
    expect(await verifySignature(pair.publicKey, signature, utf8Encode('hello'))).toBe(true);
    expect(await verifySignature(pair.publicKey, signature, utf8Encode('hellO'))).toBe(false);
  });

  it('verify answers false, never throws, on malformed input', async () => {
    const signature = await signBytes(await signingKey(0), utf8Encode('x'));
    const cases: Array<[string, string]> = [
      ['not base64!', signature],
      [encodeBase64(new Uint8Array(31)), signature],
      [encodeBase64(new Uint8Array(33)), signature],
      [pub(0), 'not base64!'],
      [pub(0), encodeBase64(new Uint8Array(63))],
      [pub(0), encodeBase64(new Uint8Array(64))],
      [encodeBase64(new Uint8Array(32).fill(0xff)), signature],
      ['', ''],
    ];
    for (const [key, sig] of cases) expect(await verifySignature(key, sig, utf8Encode('x'))).toBe(false);
    expect(await verifySignature(pub(0), signature, utf8Encode('x'))).toBe(true);
  });
});

describe('key link vector', () => {
  const link = v.key_link;
  const input = { username: link.input.username, keyId: link.input.key_id, signingPublicKey: link.input.signing_public_key };

  it('builds the exact bytes from the PEM or from the SPKI base64', () => {
    expect(utf8Decode(keyLinkBytes({ ...input, publicKeyPem: link.input.public_key }))).toBe(link.bytes_utf8);
    expect(utf8Decode(keyLinkBytes({ ...input, spkiBase64: link.input.spki_base64 }))).toBe(link.bytes_utf8);
    // any PEM line width: the DER is what counts
    const rewrapped = link.input.public_key.replace(/\n(?!-)/g, '').replace('-----END', '\n-----END');
    expect(utf8Decode(keyLinkBytes({ ...input, publicKeyPem: rewrapped }))).toBe(link.bytes_utf8);
  });

  it('reproduces the signature and verifies it; another key id or username does not verify', async () => {
    const withPem = { ...input, publicKeyPem: link.input.public_key };
    expect(await signKeyLink(await signingKey(0), withPem)).toBe(link.signature);
    expect(await verifyKeyLink(link.signer_public_key, withPem, link.signature)).toBe(true);
    expect(await verifyKeyLink(link.signer_public_key, { ...withPem, keyId: 3 }, link.signature)).toBe(false);
    expect(await verifyKeyLink(link.signer_public_key, { ...withPem, username: 'mallory' }, link.signature)).toBe(false);
    expect(await verifyKeyLink(link.signer_public_key, { ...withPem, publicKeyPem: 'garbage' }, link.signature)).toBe(false);
  });
});

describe('message vectors', () => {
  it.each(v.messages)('$name: exact bytes and signature', async (vector) => {
    const fields = vector.fields as MessageSigningFields;
    expect(utf8Decode(await messageSigningBytes(fields))).toBe(vector.bytes_utf8);
    expect(await signMessage(await signingKey(2), fields)).toBe(vector.signature);
    expect(await verifyMessageSignature(vector.signer_public_key, asMessage(fields, vector.signature))).toBe(true);
  });

  it('every signed field matters; unsigned and malformed messages are false, not exceptions', async () => {
    const vector = v.messages[0]!;
    const message = asMessage(vector.fields as MessageSigningFields, vector.signature);
    const other = encodeBase64(fromHex('00'.repeat(16)));
    const changes: Array<Partial<Message>> = [
      { sender: { id: 1, username: 'mallory' } },
      { recipient: { id: 2, username: 'carol' } },
      { client_id: '3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e35' },
      { key_id: 4 },
      { sender_key_id: 1 },
      { sender_key_id: null },
      { encrypted_symmetric_key: other },
      { sender_encrypted_symmetric_key: '' },
      { message_nonce: other },
      { encrypted_message: v.messages[1]!.fields.encrypted_message.replace(/^./, 'A') },
      { attachment_nonce: '' },
      { encrypted_attachment: other },
      { attachment_name: 'resume.pdf' },
      { attachment_mime: 'application/x-pdf' },
    ];
    for (const change of changes) expect(await verifyMessageSignature(vector.signer_public_key, { ...message, ...change })).toBe(false);
    expect(await verifyMessageSignature(vector.signer_public_key, { ...message, encrypted_message: 'not base64' })).toBe(false);
    expect(await verifyMessageSignature(vector.signer_public_key, { ...message, signature: null })).toBe(false);
    expect(await verifyMessageSignature(vector.signer_public_key, { ...message, client_id: null })).toBe(false);
    expect(await verifyMessageSignature(null, message)).toBe(false);
    expect(await verifyMessageSignature(pub(0), message)).toBe(false);
    // case of the usernames does not matter: they are signed lowercased
    const upper = { ...message, sender: { id: 1, username: 'ALICE' }, recipient: { id: 2, username: 'bob' } };
    expect(await verifyMessageSignature(vector.signer_public_key, upper)).toBe(true);
  });

  it('an absent ciphertext hashes to the SHA-256 of nothing', async () => {
    expect(v.empty_sha256).toBe(EMPTY_SHA256);
    expect(await sha256Line('')).toBe(EMPTY_SHA256);
    expect(await sha256Line(undefined)).toBe(EMPTY_SHA256);
  });
});

describe('safety numbers', () => {
  it.each(v.safety_numbers)('reproduces $number, from either side', async ({ a, b, number }) => {
    const partyA = { username: a.username, signingPublicKey: a.signing_public_key };
    const partyB = { username: b.username, signingPublicKey: b.signing_public_key };
    expect(await safetyNumber(partyA, partyB)).toBe(number);
    expect(await safetyNumber(partyB, partyA)).toBe(number);
  });

  it('is the vector of API.md B 11', async () => {
    const n = await safetyNumber({ username: 'alice', signingPublicKey: pub(0) }, { username: 'bob', signingPublicKey: pub(1) });
    expect(n).toBe('13091 32294 92263 76313 26174 49443 42493 13209 61591 80933 39727 51357');
  });
});

describe('the signing key in the envelope', () => {
  const s = v.sealed_signing_key;
  const env = base.envelope;
  const options = { iterations: env.iterations, salt: fromHex(env.salt_hex), nonce: fromHex(env.nonce_hex) };

  it('seals both keys under one derived key to the exact Python bytes', async () => {
    const sealed = await sealPrivateKey(base.rsa.private_key, env.password, {
      ...options,
      signingKey: decodeBase64(s.signing_key_pkcs8),
      signingKeyNonce: fromHex(s.signing_key_nonce_hex),
    });
    expect(sealed).toEqual(s.sealed);
  });

  it('opens both with one password; the RSA-only reader still works; a wrong password fails', async () => {
    const opened = await openEnvelopeKeys(s.sealed, env.password);
    expect(opened.privateKeyPem).toBe(base.rsa.private_key);
    expect(encodeBase64(opened.signingKey!)).toBe(s.signing_key_pkcs8);
    expect(await signingPublicKeyOf(opened.signingKey!)).toBe(s.signing_public_key);
    expect(await openEnvelope(s.sealed, env.password)).toBe(base.rsa.private_key);
    expect((await openEnvelopeKeys(env.sealed, env.password)).signingKey).toBeNull();
    await expect(openEnvelopeKeys(s.sealed, env.password + 'x')).rejects.toThrow();
  });

  it('never reuses the private key nonce', async () => {
    await expect(
      sealPrivateKey('pem', 'a password here', { ...options, iterations: 1000, signingKey: new Uint8Array(48), signingKeyNonce: options.nonce }),
    ).rejects.toThrow(/differ/);
    const sealed = await sealPrivateKey('pem', 'a password here', { iterations: 1000, signingKey: new Uint8Array(48) });
    expect(sealed.signing_key_nonce).not.toBe(sealed.private_key_nonce);
  });
});

describe('key chains', () => {
  const [good, forged] = v.key_chains as Array<{ username: string; versions: KeyVersion[]; statuses: string[] }>;

  it.each(v.key_chains)('$name', async ({ username, versions, statuses }) => {
    const chain = await verifyKeyChain(username, versions as KeyVersion[]);
    expect(chain.links.map((l) => l.status)).toEqual(statuses);
    expect(chain.chainStart).toBe(2);
    expect(chain.firstSigningKey).toBe(pub(0));
  });

  it('reports why a link is broken, and trust stops there', async () => {
    const chain = await verifyKeyChain(forged!.username, forged!.versions);
    expect(chain.intact).toBe(false);
    expect(chain.links[3]).toMatchObject({ status: 'broken', reason: 'bad-signature', trusted: false });
    expect(chain.links.map((l) => l.trusted)).toEqual([false, true, true, false]);

    const [v1, v2, v3, v4] = good!.versions;
    const reasons = async (versions: KeyVersion[]) => (await verifyKeyChain('dave', versions)).links.map((l) => l.reason ?? l.status);
    expect(await reasons([v1!, v2!, v4!])).toEqual(['unsigned', 'start', 'gap']);
    expect(await reasons([v1!, v2!, { ...v3!, key_signature: null }])).toEqual(['unsigned', 'start', 'restart']);
    expect(await reasons([v1!, v2!, { ...v3!, signing_public_key: null, key_signature: null }])).toEqual(['unsigned', 'start', 'downgrade']);
    expect(await reasons([v1!, { ...v2!, key_signature: v3!.key_signature }])).toEqual(['unsigned', 'no-signer']);
    expect(await reasons([{ ...v1!, key_signature: v3!.key_signature }])).toEqual(['no-signer']);
    expect(await reasons([v1!])).toEqual(['unsigned']);
    // the link covers the RSA key too: a swapped public key breaks it
    const swapped = { ...v3!, public_key: base.rsa.public_key.replace('MIIBIjAN', 'MIIBIjAM') };
    expect(await reasons([v1!, v2!, swapped])).toEqual(['unsigned', 'start', 'bad-signature']);
  });

  it('keyChange: none, rotated or unverified against the pinned key', async () => {
    const chain = await verifyKeyChain('dave', good!.versions);
    const broken = await verifyKeyChain('dave', forged!.versions);
    expect(keyChange(chain, null)).toBe('none'); // first use of an intact chain
    expect(keyChange(chain, pub(2))).toBe('none'); // pinned = current
    expect(keyChange(chain, pub(0))).toBe('rotated'); // v2 → v3 → v4, each vouched
    expect(keyChange(chain, pub(1))).toBe('rotated');
    expect(keyChange(chain, encodeBase64(new Uint8Array(32)))).toBe('unverified'); // the pinned key vanished
    expect(keyChange(broken, pub(1))).toBe('unverified');
    expect(keyChange(broken, null)).toBe('unverified');
    const legacy = await verifyKeyChain('dave', [good!.versions[0]!]);
    expect(keyChange(legacy, null)).toBe('none'); // an account from before B 11: unsigned, nothing to pin
    expect(keyChange(legacy, pub(0))).toBe('unverified'); // signing keys disappeared
    expect(keyChange(await verifyKeyChain('dave', []), null)).toBe('unverified');
  });

  it('trustedSigningKey: a trusted version’s key, or one vouched for from the pinned key', async () => {
    const chain = await verifyKeyChain('dave', good!.versions);
    expect(trustedSigningKey(chain, 3)).toBe(pub(1));
    expect(trustedSigningKey(chain, 1)).toBeNull();
    expect(trustedSigningKey(chain, null)).toBeNull();
    expect(trustedSigningKey(chain, 9)).toBeNull();
    const broken = await verifyKeyChain('dave', forged!.versions);
    expect(trustedSigningKey(broken, 4)).toBeNull();
    expect(trustedSigningKey(broken, 4, pub(2))).toBe(pub(2)); // the user accepted this key
  });
});
