/**
 * The measurements of bench/sdk-signatures.ts, written once for both places
 * they run: in Node (imported) and in Chromium (bundled by esbuild into a
 * page, bench/lib/sdk-signatures-page.ts). Nothing here imports a Node
 * module: randomness and hashing come from WebCrypto (`globalThis.crypto`),
 * time from `performance.now()`.
 *
 * What is measured: what signatures (API.md B 11) add to a send and to
 * opening a page of 50 messages, beside what encrypting and decrypting cost
 * anyway, and the once-per-contact work (a key chain, the safety number).
 * Each figure is the median of `runs` samples after warm-up; an operation
 * shorter than ~2 ms is repeated within a sample and divided, so that a
 * browser's coarse clock (100 µs without cross-origin isolation) does not
 * round it away.
 */
import {
  encryptMessage, generateKeyPair, generateSigningKeyPair, importPrivateKey, importPublicKey, importSigningKey, safetyNumber, safetyNumberHalf, signKeyLink,
  signMessage, verifyKeyChain, type KeyVersion, type Message,
} from '@securechat/protocol';
import { openMessage } from '../../packages/client/src/open-message.ts';
import { MemoryPinStore } from '../../packages/client/src/pins.ts';
import { TrustBook } from '../../packages/client/src/trust.ts';

export const PAGE = 50;
export const VERSIONS = 6;
/** A sample lasts at least this long: short operations are repeated within it. */
const MIN_SAMPLE_MS = 2;

export interface Measurement {
  label: string;
  /** median wall time of one operation, ms */
  ms: number;
  note: string;
}

async function median(runs: number, work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < 3; i++) await work(); // warm-up, and a first estimate
  const once = (performance.now() - start) / 3;
  const reps = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(once, 0.001)));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) await work();
    times.push((performance.now() - t) / reps);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function randomMiB(): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(1024 * 1024);
  for (let at = 0; at < bytes.length; at += 65_536) globalThis.crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

export async function measureSdkSignatures(options: { runs: number; log: (line: string) => void }): Promise<Measurement[]> {
  const { runs, log } = options;
  const alice = { id: 1, username: 'alice' };
  const bob = { id: 2, username: 'bob' };

  // Alice: six key versions, each vouched for by the one before.
  const versions: KeyVersion[] = [];
  const signing: CryptoKey[] = [];
  for (let keyId = 1; keyId <= VERSIONS; keyId++) {
    const [pair, sign] = await Promise.all([generateKeyPair(), generateSigningKeyPair()]);
    const key_signature = keyId === 1 ? null : await signKeyLink(signing[keyId - 2]!, { username: 'alice', keyId, publicKeyPem: pair.publicKey, signingPublicKey: sign.publicKey });
    versions.push({ key_id: keyId, public_key: pair.publicKey, signing_public_key: sign.publicKey, key_signature, created_at: new Date().toISOString() });
    signing.push(await importSigningKey(sign.privateKey));
  }
  const aliceCurrent = versions.at(-1)!;
  const aliceSigning = signing.at(-1)!;
  const bobPair = await generateKeyPair();
  const bobPublic = await importPublicKey(bobPair.publicKey);
  const bobPrivate = await importPrivateKey(bobPair.privateKey);
  const alicePublic = await importPublicKey(aliceCurrent.public_key);

  const text = 'A message of a typical length, a sentence or two: what a chat message usually is. '.repeat(2);
  const mib = randomMiB();

  async function signedMessage(id: number, attachment?: Uint8Array): Promise<Message> {
    const fields = await encryptMessage({ text, attachment }, { recipient: bobPublic, sender: alicePublic });
    const client_id = globalThis.crypto.randomUUID();
    const meta = attachment ? { attachment_name: 'file.bin', attachment_mime: 'application/octet-stream' } : { attachment_name: '', attachment_mime: '' };
    const signature = await signMessage(aliceSigning, { sender: 'alice', recipient: 'bob', client_id, key_id: 1, sender_key_id: VERSIONS, ...fields, ...meta });
    return {
      id, sender: alice, recipient: bob, ...fields, ...meta, sent_at: new Date().toISOString(), has_attachment: attachment !== undefined,
      key_id: 1, sender_key_id: VERSIONS, client_id, signature,
    };
  }

  const page: Message[] = [];
  for (let i = 0; i < PAGE; i++) page.push(await signedMessage(1000 - i));
  const withAttachment = await signedMessage(1, mib);

  const host = { keyVersions: async () => versions, user: () => bob, ownSigningKeys: () => new Map<number, string>() };
  const warmBook = new TrustBook(host, new MemoryPinStore());
  await warmBook.check(page);

  const results: Measurement[] = [];
  const measure = async (label: string, note: string, work: () => Promise<unknown>) => {
    const ms = await median(runs, work);
    results.push({ label, ms, note });
    log(`${label}: ${ms.toFixed(3)} ms`);
  };

  const sendFields = (attachment?: Uint8Array) => encryptMessage({ text, attachment }, { recipient: bobPublic, sender: alicePublic });
  const textFields = await sendFields();
  const fileFields = await sendFields(mib);
  const signFields = (fields: typeof textFields, withFile: boolean) =>
    signMessage(aliceSigning, {
      sender: 'alice', recipient: 'bob', client_id: globalThis.crypto.randomUUID(), key_id: 1, sender_key_id: VERSIONS, ...fields,
      ...(withFile ? { attachment_name: 'file.bin', attachment_mime: 'application/octet-stream' } : {}),
    });
  const first = { username: 'alice', signingPublicKey: versions[0]!.signing_public_key! };
  const second = { username: 'bob', signingPublicKey: versions[1]!.signing_public_key! };

  await measure('send: sign a text message', 'hash lines + canonical bytes + Ed25519 sign', () => signFields(textFields, false));
  await measure('send: encrypt that text (for comparison)', 'AES-GCM + two RSA-OAEP wraps, as every end-to-end send', () => sendFields());
  await measure('send: sign with a 1 MiB attachment', 'SHA-256 of the 1 MiB ciphertext dominates', () => signFields(fileFields, true));
  await measure('send: encrypt that attachment (for comparison)', '', () => sendFields(mib));
  await measure('open: verify one message, chain cached', 'TrustBook.check of one message', () => warmBook.check([page[0]!]));
  await measure('open: verify one message with a 1 MiB attachment', '', () => warmBook.check([withAttachment]));
  await measure(`page of ${PAGE}: verify, chain cached`, 'what inbox() adds per page once the sender is known', () => warmBook.check(page));
  await measure(`page of ${PAGE}: verify, chain cold`, `${VERSIONS}-version chain checked first (network excluded)`, () => new TrustBook(host, new MemoryPinStore()).check(page));
  await measure(`page of ${PAGE}: decrypt (for comparison)`, '50 RSA-OAEP unwraps + AES-GCM, what inbox() does anyway', () =>
    Promise.all(page.map((m) => openMessage(m, { userId: bob.id, keyFor: () => bobPrivate, trust: { signature: 'valid', keyChange: 'none', replayOf: null, verified: true, trustProblem: null } }))),
  );
  await measure(`key chain of ${VERSIONS} versions: verifyKeyChain`, 'once per contact per 5 minutes (cache)', () => verifyKeyChain('alice', versions));
  await measure('safety number', '2 × 5,200 SHA-512 rounds, one half after the other (protocol as it is)', () => safetyNumber(first, second));
  // Not the protocol's code: what computing the two independent halves at once would give (same digits).
  await measure('safety number, both halves at once (what-if)', 'the same two hash chains interleaved (Promise.all), not in protocol', async () => {
    const halves = await Promise.all([safetyNumberHalf(first), safetyNumberHalf(second)]);
    return halves.sort().join('');
  });
  return results;
}
