/**
 * Property-based fuzzing of /api/messages/: send (plaintext and end-to-end
 * shapes), the mailbox list (direction, limit, before_id, after_id) and one
 * message by id. See fuzz-arbitraries.ts.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asciiLower, badBase64, base64OfSize, checkAnswer, checkBodyRoute, clientKeyFields, decoded, decodedPath, expectStatus, fail, LONE_SURROGATES, materialize, nearInteger,
  positiveIntegerVerdict, queryCase, queryString, Rep, runs, single, tableCounts, timeoutFor,
} from './fuzz-arbitraries.ts';
import { call, startApp, type TestApp } from './helpers.ts';

interface Client {
  id: number;
  username: string;
  token: string;
  keyId: number;
}

let t: TestApp;
let alice: Client;
let bob: Client;
let carol: Client;
const pid = process.pid;

async function registerClient(username: string): Promise<Client> {
  const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: `Fz-${pid}-${username}-qv7Lw`, ...clientKeyFields() } });
  if (res.statusCode !== 201) throw new Error(`register ${username}: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.user.id, username, token: body.token, keyId: body.profile.key_id };
}

async function sendAs(from: Client, body: Record<string, unknown>): Promise<number> {
  const res = await call(t.app, 'POST', '/api/messages/send/', { token: from.token, body });
  if (res.statusCode !== 201) throw new Error(`send: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

/** The largest id in a mailbox (0 when empty). */
async function topId(who: Client, direction: 'inbox' | 'sent'): Promise<number> {
  const res = await call(t.app, 'GET', `/api/messages/?direction=${direction}&limit=1`, { token: who.token });
  return (res.json() as Array<{ id: number }>)[0]?.id ?? 0;
}

function isStrictBase64(value: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value) && Buffer.from(value, 'base64').toString('base64') === value;
}

const CIPHERTEXT_FIELDS = ['key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'sender_key_id', 'encrypted_message', 'message_nonce', 'encrypted_attachment', 'attachment_nonce'];

beforeAll(async () => {
  t = await startApp({ MAX_ATTACHMENT_BYTES: String(64 * 1024) });
  alice = await registerClient(`alice_${pid}`);
  bob = await registerClient(`kbob_${pid}`);
  carol = await registerClient(`carol_${pid}`);
});
afterAll(() => t.close());

/** What a refused send must leave unchanged: the sender's sent box, the recipient's inbox, the table. */
const mailboxes = async () => ({ sent: await topId(alice, 'sent'), inbox: await topId(bob, 'inbox'), messages: (await tableCounts(t)).messages });
type Mailboxes = Awaited<ReturnType<typeof mailboxes>>;

async function refusedSend(before: Mailboxes, _body: Record<string, unknown>, res: LightMyRequestResponse, input: unknown) {
  const after = await mailboxes();
  if (JSON.stringify(after) !== JSON.stringify(before)) fail(`a refused send stored a message: ${JSON.stringify(before)} → ${JSON.stringify(after)}`, input, res);
}

async function acceptedSend(before: Mailboxes, _body: Record<string, unknown>, res: LightMyRequestResponse, input: unknown) {
  expectStatus(res, 201, input, 'send answers 201');
  const sent = res.json() as { id: number };
  if (!(sent.id > before.sent)) fail('the new message id is not above the sender’s last', input, res);
  const read = await call(t.app, 'GET', `/api/messages/${sent.id}/`, { token: alice.token });
  if (read.statusCode !== 200 || read.json().id !== sent.id) fail('the sender cannot read what it sent', input, read);
}

const recipients = () =>
  fc.constantFrom<unknown>(
    bob.username, bob.username.toUpperCase(), bob.username.replace('k', '\u212A'), `${bob.username} `, `${bob.username}\u0000`, alice.username, 'nobody-at-all', '',
    new Rep('x', 151), `${bob.username}\ud800`,
  );
const metadata = fc.constantFrom<unknown>('', 'a.txt', 'text/plain', new Rep('n', 255), new Rep('n', 256), new Rep('é', 255), '../../etc/passwd', 'a\u0000b', '\u202Egnp.exe', `x${LONE_SURROGATES[0]}`);

describe('POST /api/messages/send/ (plaintext)', () => {
  const numRuns = runs(50);
  it(
    'never a 5xx; errors are JSON; a refused send stores nothing in either mailbox',
    async () => {
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/messages/send/',
          token: () => alice.token,
          valid: () => ({ recipient: bob.username, message: 'hello from the fuzzer' }),
          fields: {
            recipient: recipients(),
            message: fc.constantFrom<unknown>('', 'x', new Rep('m', 262_144), new Rep('m', 262_145), new Rep('😀', 131_072), 'a\u0000b', `hi${LONE_SURROGATES[1]}`),
            attachment_data: fc.oneof(base64OfSize(0, 40), badBase64, fc.constantFrom<unknown>(new Rep('AAAA', 5000), new Rep('QUJD', 4097), new Rep('AAAA', 17_000), '', 'AAAA====')),
            attachment_name: metadata,
            attachment_mime: metadata,
            key_id: nearInteger(1),
            message_nonce: base64OfSize(12),
          },
          objectBody: true,
          examples: [
            { mutations: [{ op: 'set', field: 'attachment_data', value: new Rep('QUJD', 5000) }, { op: 'set', field: 'attachment_name', value: 'big.bin' }] },
            // Not base64: Arabic-Indic digits, whose UTF-16 low bytes happen to be "abcd".
            { mutations: [{ op: 'set', field: 'attachment_data', value: '\u0661\u0662\u0663\u0664' }] },
          ],
          mustBe: (body) => {
            const recipient = materialize(body.recipient);
            const message = materialize(body.message);
            const attachment = materialize(body.attachment_data);
            if (typeof recipient !== 'string') return 400;
            if (message !== undefined && typeof message !== 'string') return 400;
            if (attachment !== undefined && typeof attachment !== 'string') return 400;
            if (typeof attachment === 'string' && attachment !== '' && !isStrictBase64(attachment)) return 400;
            if (CIPHERTEXT_FIELDS.some((f) => body[f] !== undefined)) return 400;
            if ((message ?? '') === '' && (attachment ?? '') === '') return 400;
            if (recipient !== alice.username && asciiLower(recipient) !== bob.username.toLowerCase()) return 400;
            return undefined;
          },
          snapshot: mailboxes,
          refused: refusedSend,
          accepted: acceptedSend,
        },
        numRuns,
      );
    },
    timeoutFor(numRuns),
  );
});

describe('POST /api/messages/send/ (end-to-end)', () => {
  const numRuns = runs(50);
  it(
    'never a 5xx; errors are JSON; a refused send stores nothing in either mailbox',
    async () => {
      const wrapped = (n: number) => base64OfSize(n);
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/messages/send/',
          token: () => alice.token,
          valid: () => ({
            recipient: bob.username,
            key_id: bob.keyId,
            encrypted_symmetric_key: Buffer.alloc(256, 7).toString('base64'),
            sender_encrypted_symmetric_key: Buffer.alloc(256, 9).toString('base64'),
            sender_key_id: alice.keyId,
            encrypted_message: Buffer.alloc(40, 1).toString('base64'),
            message_nonce: Buffer.alloc(12, 2).toString('base64'),
          }),
          fields: {
            recipient: recipients(),
            key_id: nearInteger(1, 2),
            sender_key_id: fc.oneof(nearInteger(1, 2), fc.constant(null)),
            encrypted_symmetric_key: fc.oneof(fc.constantFrom(0, 1, 255, 257, 512).chain(wrapped), badBase64),
            sender_encrypted_symmetric_key: fc.oneof(fc.constantFrom(0, 255, 257).chain(wrapped), badBase64, fc.constant('')),
            encrypted_message: fc.oneof(fc.constantFrom(0, 15, 16, 17, 1000).chain(wrapped), badBase64, fc.constantFrom<unknown>(new Rep('AAAA', 5000))),
            message_nonce: fc.oneof(fc.integer({ min: 0, max: 24 }).chain(wrapped), badBase64),
            encrypted_attachment: fc.oneof(fc.constantFrom(0, 15, 16, 17).chain(wrapped), badBase64, fc.constantFrom<unknown>(new Rep('AAAA', 5000), new Rep('AAAA', 17_000), new Rep('AAA=', 5000))),
            attachment_nonce: fc.oneof(fc.integer({ min: 0, max: 24 }).chain(wrapped), badBase64),
            attachment_name: metadata,
            attachment_mime: metadata,
            message: fc.constantFrom<unknown>('', 'plaintext too'),
            attachment_data: fc.constantFrom<unknown>('', 'QUJD'),
          },
          objectBody: true,
          examples: [
            {
              mutations: [
                { op: 'set', field: 'encrypted_attachment', value: new Rep('QUJD', 5000) },
                { op: 'set', field: 'attachment_nonce', value: Buffer.alloc(12, 3).toString('base64') },
              ],
            },
            // Not base64: sixteen U+0141, whose UTF-16 low bytes are "AAAAAAAAAAAAAAAA" (12 zero bytes).
            { mutations: [{ op: 'set', field: 'message_nonce', value: '\u0141'.repeat(16) }] },
          ],
          mustBe: (body) => {
            if (body.message !== undefined || body.attachment_data !== undefined) return 400;
            const keyId = materialize(body.key_id);
            if (keyId !== bob.keyId && body.recipient === bob.username) return 400;
            const wrappedKey = materialize(body.encrypted_symmetric_key);
            if (typeof wrappedKey !== 'string' || !isStrictBase64(wrappedKey) || Buffer.from(wrappedKey, 'base64').length !== 256) return 400;
            const nonce = materialize(body.message_nonce);
            if (nonce !== undefined && (typeof nonce !== 'string' || (nonce !== '' && (!isStrictBase64(nonce) || Buffer.from(nonce, 'base64').length !== 12)))) return 400;
            return undefined;
          },
          snapshot: mailboxes,
          refused: refusedSend,
          accepted: acceptedSend,
        },
        numRuns,
      );
    },
    timeoutFor(numRuns),
  );
});

type View = { id: number; sender: { id: number }; recipient: { id: number } };

describe('GET /api/messages/ and /api/messages/{id}/', () => {
  const aliceIds: number[] = [];
  const foreignIds: number[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 6; i++) {
      aliceIds.push(await sendAs(alice, { recipient: bob.username, message: `out ${i}` }));
      aliceIds.push(await sendAs(bob, { recipient: alice.username, message: `in ${i}` }));
      foreignIds.push(await sendAs(bob, { recipient: carol.username, message: `not for alice ${i}` }));
    }
    await sendAs(alice, { recipient: alice.username, message: 'to myself' });
    // Every message alice is part of, also those the send properties stored (many, with FUZZ_RUNS high): follow the links.
    for (const direction of ['inbox', 'sent']) {
      for (let url: string | undefined = `/api/messages/?direction=${direction}&limit=200`; url; ) {
        const res = await call(t.app, 'GET', url, { token: alice.token });
        for (const m of res.json() as View[]) if (!aliceIds.includes(m.id)) aliceIds.push(m.id);
        url = /<([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
      }
    }
  });

  const numRuns = runs(60);
  it(
    'list: never a 5xx; errors are JSON; a page holds only the caller’s messages, in cursor order, within the limit; its next link answers',
    async () => {
      const pairs = fc.oneof(
        queryCase(['direction', 'limit', 'before_id', 'after_id']),
        fc
          .record({
            direction: fc.constantFrom('inbox', 'sent', 'INBOX', 'outbox', ''),
            limit: fc.constantFrom('1', '2', '3', '0', '-1', '1e3', '201', '99999999999999999999', '1.5'),
            cursor: fc.constantFrom('before_id', 'after_id'),
            at: fc.oneof(fc.integer({ min: -1, max: 60 }).map(String), fc.constantFrom('99999999999999999999', '9007199254740991', '9007199254740992', '1.5', 'x')),
          })
          .map(({ direction, limit, cursor, at }) => [['direction', direction], ['limit', limit], [cursor, at]] as Array<[string, string]>),
      );
      let ok = 0;
      await fc.assert(
        fc.asyncProperty(pairs, async (pairs) => {
          const url = `/api/messages/${queryString(pairs)}`;
          const res = await t.app.inject({ method: 'GET', url, headers: { 'x-auth-token': alice.token } });
          checkAnswer(res, url);
          const direction = single(pairs, 'direction');
          const limit = single(pairs, 'limit');
          const before = single(pairs, 'before_id');
          const after = single(pairs, 'after_id');
          const directionText = typeof direction === 'string' ? decoded(direction) : null;
          if (directionText !== null && directionText !== 'inbox' && directionText !== 'sent') expectStatus(res, 400, url, 'direction other than inbox/sent');
          if (before !== null && after !== null) expectStatus(res, 400, url, 'both before_id and after_id');
          for (const value of [limit, before, after]) {
            if (typeof value === 'string' && positiveIntegerVerdict(value) === 'bad') expectStatus(res, 400, url, 'a limit or cursor that is not a positive integer');
          }
          if (res.statusCode !== 200) return;
          ok += 1;
          const page = res.json() as View[];
          const mailbox = directionText === 'sent' ? 'sent' : 'inbox';
          if (page.some((m) => (mailbox === 'sent' ? m.sender.id : m.recipient.id) !== alice.id)) fail(`a message outside the caller’s ${mailbox}`, url, res);
          const max = typeof limit === 'string' && positiveIntegerVerdict(limit) === 'ok' ? Math.min(Number(decoded(limit)), 200) : 200;
          if (page.length > max) fail(`more than ${max} messages`, url, res);
          const ids = page.map((m) => m.id);
          const afterId = typeof after === 'string' && positiveIntegerVerdict(after) === 'ok' ? Number(decoded(after)) : undefined;
          const beforeId = typeof before === 'string' && positiveIntegerVerdict(before) === 'ok' ? Number(decoded(before)) : undefined;
          const ascending = ids.every((id, i) => i === 0 || id > ids[i - 1]!);
          const descending = ids.every((id, i) => i === 0 || id < ids[i - 1]!);
          if (afterId !== undefined) {
            if (!ascending || ids.some((id) => id <= afterId)) fail('after_id page is not oldest first above the cursor', url, res);
          } else if (!descending || (beforeId !== undefined && ids.some((id) => id >= beforeId))) fail('page is not newest first below the cursor', url, res);
          const link = res.headers.link;
          if (link !== undefined) {
            const next = /^<([^>]+)>; rel="next"$/.exec(String(link));
            if (!next) fail('malformed Link header', url, res);
            const followed = await t.app.inject({ method: 'GET', url: next[1]!, headers: { 'x-auth-token': alice.token } });
            checkAnswer(followed, next[1]);
            expectStatus(followed, 200, { url, next: next[1] }, 'the next link answers 200');
            const nextIds = (followed.json() as View[]).map((m) => m.id);
            if (nextIds.some((id) => ids.includes(id))) fail('the next page repeats a message', { url, next: next[1] }, followed);
          }
        }),
        { numRuns, examples: [[[]], [[['direction', 'sent'], ['limit', '2']]], [[['after_id', '1'], ['limit', '3']]]] },
      );
      expect(ok).toBeGreaterThan(0);
    },
    timeoutFor(numRuns),
  );

  it(
    'by id: own → 200, someone else’s → 403, absent or malformed → 404; never a 5xx',
    async () => {
      const ids = fc.oneof(
        fc.constantFrom(...aliceIds).map(String),
        fc.constantFrom(...foreignIds).map(String),
        fc.constantFrom(
          '0', '-1', '00', '01', '+1', '1.0', '1e0', '0x1', ' 1', '%20', '%31', '%00', '%ZZ', '%ED%A0%80', 'abc', 'null', 'NaN', '99999999999999999999', '9007199254740991',
          '9007199254740993', '9999999999999999', '1%2F2', '..', '%2e%2e', 'x'.repeat(101), '\u212A',
        ),
        fc.integer({ min: 1, max: 2 ** 31 }).map(String),
        fc.string({ maxLength: 10 }).map(encodeURIComponent),
      );
      let ok = 0;
      await fc.assert(
        fc.asyncProperty(ids, async (id) => {
          const url = `/api/messages/${id}/`;
          const res = await t.app.inject({ method: 'GET', url, headers: { 'x-auth-token': alice.token } });
          checkAnswer(res, url);
          const text = decodedPath(id);
          const numeric = text !== null && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : undefined;
          if (numeric !== undefined && aliceIds.includes(numeric)) {
            expectStatus(res, 200, url, 'the caller’s own message');
            if ((res.json() as View).id !== numeric) fail('another message was answered', url, res);
            ok += 1;
          } else if (numeric !== undefined && foreignIds.includes(numeric)) {
            expectStatus(res, 403, url, 'someone else’s message');
          } else if (res.statusCode < 400) {
            fail('a message was answered for an id that is not the caller’s', url, res);
          } else if (text !== null && text.length <= 100 && !/[/?#]/.test(text)) {
            expectStatus(res, 404, url, 'an absent or malformed id');
          }
        }),
        { numRuns, examples: [[String(aliceIds[0])], [String(foreignIds[0])]] },
      );
      expect(ok).toBeGreaterThan(0);
    },
    timeoutFor(numRuns),
  );
});
