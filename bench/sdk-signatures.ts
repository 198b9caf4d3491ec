/**
 * What signatures (API.md B 11) cost the SDK on Node, in this process, with
 * no server: the work the SDK adds to a send and to opening a page of 50
 * messages, beside what decrypting them costs anyway. Medians of many runs
 * (wall time of the awaited WebCrypto calls; Node runs them on its thread
 * pool, one at a time here).
 *
 * - per send: the signature (two SHA-256 hash lines over the ciphertexts,
 *   the canonical bytes, one Ed25519 signature), for a short text and for a
 *   1 MiB attachment; next to it, the end-to-end encryption the send does anyway;
 * - per page of 50: `TrustBook.check` (what `inbox()` runs per page) with the
 *   sender's key chain cached, and cold (its chain of six versions checked
 *   first: five link signatures); next to it, decrypting the 50 messages;
 * - once per contact: checking a six-version chain; the safety number.
 *
 * A cold chain also costs one `GET /api/users/{username}/keys/` per sender,
 * which is network time and not measured here (the fake host answers at once).
 *
 *   npx tsx bench/sdk-signatures.ts [--quick] [--write]
 *
 * `--write` puts the table into bench/RESULTS.md under "Signatures (SDK)"
 * (replacing that section, or appending it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  encryptMessage, generateKeyPair, generateSigningKeyPair, importPrivateKey, importPublicKey, importSigningKey, safetyNumber, signKeyLink, signMessage,
  verifyKeyChain, type KeyVersion, type Message,
} from '@securechat/protocol';
import { openMessage } from '../packages/client/src/open-message.ts';
import { MemoryPinStore } from '../packages/client/src/pins.ts';
import { TrustBook } from '../packages/client/src/trust.ts';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 10 : 40;
const PAGE = 50;
const VERSIONS = 6;

async function median(runs: number, work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(3, runs); i++) await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

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
const mib = new Uint8Array(randomBytes(1024 * 1024));

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

const results: Array<[string, number, string]> = [];
const measure = async (label: string, note: string, work: () => Promise<unknown>) => {
  const ms = await median(RUNS, work);
  results.push([label, ms, note]);
  process.stderr.write(`[sdk-signatures] ${label}: ${ms.toFixed(3)} ms\n`);
};

const sendFields = (attachment?: Uint8Array) => encryptMessage({ text, attachment }, { recipient: bobPublic, sender: alicePublic });
const textFields = await sendFields();
const fileFields = await sendFields(mib);
const signFields = (fields: typeof textFields, withFile: boolean) =>
  signMessage(aliceSigning, {
    sender: 'alice', recipient: 'bob', client_id: globalThis.crypto.randomUUID(), key_id: 1, sender_key_id: VERSIONS, ...fields,
    ...(withFile ? { attachment_name: 'file.bin', attachment_mime: 'application/octet-stream' } : {}),
  });

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
await measure('safety number', '2 × 5,200 SHA-512 rounds', () => safetyNumber({ username: 'alice', signingPublicKey: versions[0]!.signing_public_key! }, { username: 'bob', signingPublicKey: versions[1]!.signing_public_key! }));

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const table = [
  '| what | median ms | note |',
  '| --- | --- | --- |',
  ...results.map(([label, ms, note]) => `| ${label} | ${ms < 1 ? ms.toFixed(3) : ms.toFixed(2)} | ${note} |`),
].join('\n');
const section = `## Signatures (SDK)

Written by \`npx tsx bench/sdk-signatures.ts --write\`: what B 11 costs the
SDK on Node, in one process without a server (medians of ${RUNS} runs each,
after warm-up). Messages carry a ~170-character text, 2048-bit RSA keys; the
page is ${PAGE} messages from one sender whose chain has ${VERSIONS} versions.
A cold chain also costs one \`GET /api/users/{username}/keys/\` per sender
(not measured: network). Chromium numbers: see the web client's benchmark.

- date: ${new Date().toISOString()}
- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}
- commit: ${commit}${quick ? ' (--quick)' : ''}

${table}
`;
process.stdout.write(`${section}\n`);

if (process.argv.includes('--write')) {
  const file = new URL('RESULTS.md', import.meta.url);
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf('\n## Signatures (SDK)\n');
  let next: string;
  if (start < 0) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const after = current.indexOf('\n## ', start + 1);
    next = `${current.slice(0, start + 1)}${section}${after < 0 ? '' : `\n${current.slice(after + 1)}`}`;
  }
  writeFileSync(file, next);
  process.stderr.write('[sdk-signatures] bench/RESULTS.md updated\n');
}
