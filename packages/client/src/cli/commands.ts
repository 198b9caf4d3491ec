/** The CLI's commands, each a thin layer over one or two SDK calls. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  fingerprint, InvalidResponseError, KeysLockedError, type ContactStatus, type LiveMessage, type MailboxMessage, type Message, type Mode, type SubscriptionState,
  type UnreadableMessage,
} from '../index.ts';
import { Context, parsePositiveInt } from './context.ts';
import { describeError, UsageError } from './exit-codes.ts';
import { preview, size, table, when } from './format.ts';
import { forgetProfile } from './profile.ts';
import { saveAttachment } from './save-attachment.ts';
import { terminalJson, terminalLine as line, terminalText } from './terminal-text.ts';
import { CONTACT_LEGEND, contactMark, legendFor, MESSAGE_LEGEND, messageMark, trustLines } from './trust-marks.ts';

const MIME_TYPES: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.html': 'text/html', '.json': 'application/json', '.pdf': 'application/pdf',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.svg': 'image/svg+xml',
  '.zip': 'application/zip', '.gz': 'application/gzip', '.mp3': 'audio/mpeg', '.mp4': 'video/mp4', '.csv': 'text/csv',
};

/** The SDK's fingerprint (the one the web client shows, to compare out of band); null when it is not one PEM block. */
function fingerprintOrNull(publicKeyPem: string): Promise<string | null> {
  return fingerprint(publicKeyPem).catch(() => null);
}

/**
 * `readable: false` (with `reason`, and `text: null`) marks a message that
 * cannot be decrypted; `signature` ("valid" | "invalid" | "unsigned") and
 * `key_change` ("none" | "rotated" | "unverified") say who wrote it (B 11),
 * `replay_of` names the message a replay repeats, and `trust_problem` says
 * why a message is not verified.
 */
function messageJson(m: MailboxMessage) {
  return {
    id: m.id,
    sender: m.sender.username,
    recipient: m.recipient.username,
    sent_at: m.sentAt,
    readable: m.readable,
    ...(m.readable ? {} : { reason: m.reason }),
    text: m.text,
    attachment: m.attachment ? { name: m.attachment.name, mime: m.attachment.mime, size: m.attachment.data.length } : null,
    signature: m.signature,
    key_change: m.keyChange,
    verified: m.verified,
    replay_of: m.replayOf,
    trust_problem: m.trustProblem,
  };
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function register(ctx: Context, username: string, options: { mode: Mode }) {
  const client = await ctx.anonymousClient(options.mode);
  const password = await ctx.passwords.fresh('Choose a password: ', process.env.SECURECHAT_PASSWORD);
  const { user } = await client.register(username, password);
  await ctx.remember(client);
  ctx.print(`Registered and logged in as ${line(user.username)} on ${client.baseUrl} (${client.mode === 'e2e' ? 'end-to-end' : 'server'} mode).`, { user, mode: client.mode, server: client.baseUrl });
}

export async function login(ctx: Context, username: string, options: { mode: Mode }) {
  const client = await ctx.anonymousClient(options.mode);
  const { user } = await client.login(username, await ctx.passwords.current());
  await ctx.remember(client);
  ctx.print(`Logged in as ${line(user.username)} on ${client.baseUrl}.`, { user, mode: client.mode, server: client.baseUrl });
}

export async function logout(ctx: Context) {
  const { client, profile } = await ctx.client();
  try {
    await client.logout();
  } finally {
    await forgetProfile(ctx.profilePath);
  }
  ctx.print(`Logged out ${line(profile.user.username)}.`, { logged_out: profile.user.username });
}

export async function whoami(ctx: Context) {
  const { client, profile } = await ctx.client();
  const current = (await client.sessions()).find((s) => s.current);
  ctx.print(
    `${line(profile.user.username)} (id ${line(profile.user.id)}) on ${line(client.baseUrl)}, ${profile.mode === 'e2e' ? 'end-to-end' : 'server'} mode; session expires ${when(current?.expires_at ?? '')}`,
    { user: profile.user, server: client.baseUrl, mode: profile.mode, session: current },
  );
}

/**
 * Every other user with their key fingerprint and a trust mark (see
 * trust-marks.ts): each listed user's key chain is checked against the key
 * pinned for them (pinned now on first sight).
 */
export async function users(ctx: Context, options: { search?: string }) {
  const { client } = await ctx.client();
  const list = [];
  for await (const entry of client.users({ search: options.search })) list.push(entry);
  const shown = await mapLimited(list, 4, async (u) => {
    const status: ContactStatus | { error: string } = await client.contact(u.user.username).catch((error: unknown) => ({ error: describeError(error) }));
    return { ...u, fingerprint: u.keyError === null ? await fingerprintOrNull(u.public_key) : null, status: 'error' in status ? null : status, statusError: 'error' in status ? status.error : null };
  });
  const marks = shown.map((u) => contactMark(u.status));
  ctx.print(
    table(['', 'USER', 'ID', 'KEY', 'FINGERPRINT'], shown.map((u, i) => [marks[i]!, u.user.username, u.user.id, `v${u.key_id}`, u.fingerprint ?? `unusable key: ${u.keyError}`])) +
      legendFor(marks, CONTACT_LEGEND),
    shown.map((u) => ({
      ...u.user,
      key_id: u.key_id,
      fingerprint: u.fingerprint,
      key_error: u.keyError,
      key_change: u.status?.keyChange ?? 'unverified',
      signs: u.status?.signs ?? false,
      verified: u.status?.verified ?? false,
      trust_problem: u.status ? u.status.problem : `its key history could not be checked: ${u.statusError}`,
    })),
  );
}

/**
 * The safety number of you and USER (B 11), to compare in person or on a
 * call; `--confirm` records that it matched (in the profile's pin).
 */
export async function verify(ctx: Context, username: string, options: { confirm?: boolean }) {
  const { client, profile } = await ctx.client();
  if (username.toLowerCase() === profile.user.username.toLowerCase()) throw new UsageError('That is you: compare safety numbers with someone else.');
  const number = await client.safetyNumber(username);
  const status = options.confirm ? await client.markVerified(username) : await client.contact(username);
  const them = line(status.username);
  const keyLine =
    status.keyChange === 'unverified'
      ? `K WARNING: ${them}'s key changed and nothing vouches for the new one: ${line(status.problem ?? '')}. ` +
        `This number covers the key you first saw, not the new one: ask ${them} whether they replaced their keys. Until you accept it (send --accept-new-key), send refuses ${them}.`
      : status.keyChange === 'rotated'
        ? `${them}'s key: version ${status.keyId}; each change since the key you first saw was vouched for by the key before it.`
        : `${them}'s key: version ${status.keyId}, the one you first saw.`;
  const verdict = options.confirm
    ? `${them} is now marked verified.`
    : status.verified
      ? `${them} is verified: you confirmed this safety number on ${when(status.pin?.verifiedAt ?? '')} UTC.`
      : status.keyChange === 'unverified' || status.chain.current?.trusted !== true
        ? `${them} cannot be marked verified while their current key is not vouched for by the key this number covers.`
        : `If all 60 digits match, run: securechat verify ${them} --confirm`;
  ctx.print(
    [
      `Safety number of you (${line(profile.user.username)}) and ${them}:`,
      '',
      `    ${number}`,
      '',
      `Compare it with the number ${them} sees (securechat verify ${line(profile.user.username)}, or the web client's verification screen), in person or on a call.`,
      keyLine,
      verdict,
    ].join('\n'),
    { username: status.username, safety_number: number, key_id: status.keyId, key_change: status.keyChange, verified: status.verified, trust_problem: status.problem },
  );
}

/**
 * Sends a message, signed: the signing key is opened with the password only
 * when the SDK needs it (so a wrong recipient fails before any prompt).
 * Refuses a recipient whose key changed without a chain unless
 * `--accept-new-key`.
 */
export async function send(ctx: Context, recipient: string, text: string | undefined, options: { file?: string; mime?: string; acceptNewKey?: boolean }) {
  const { client } = await ctx.client();
  let body = text;
  if (body === undefined && !options.file && !process.stdin.isTTY) body = (await readStdin()).replace(/\n$/, '');
  const attachment = options.file
    ? {
        data: new Uint8Array(await readFile(options.file)),
        name: basename(options.file),
        mime: options.mime ?? MIME_TYPES[(/\.[^.]+$/.exec(options.file)?.[0] ?? '').toLowerCase()] ?? 'application/octet-stream',
      }
    : undefined;
  if (!body && !attachment) throw new UsageError('Nothing to send: give a text, --file, or pipe the text on stdin.');
  const sendIt = (): Promise<Message> => client.send(recipient, { text: body, attachment }, { acceptNewKey: options.acceptNewKey === true });
  let message: Message;
  try {
    message = await sendIt();
  } catch (error) {
    if (!(error instanceof KeysLockedError)) throw error;
    await client.unlock(await ctx.passwords.current(), { currentOnly: true });
    message = await sendIt();
  }
  const what = attachment ? ` with ${attachment.name} (${size(attachment.data.length)})` : '';
  ctx.print(`Sent message #${line(message.id)} to ${line(message.recipient?.username)}${what}.`, { id: message.id, recipient: message.recipient?.username, sent_at: message.sent_at });
}

export async function mailbox(ctx: Context, direction: 'inbox' | 'sent', options: { limit: string }) {
  const limit = parsePositiveInt(options.limit, '--limit');
  const client = await ctx.unlockedClient();
  const list: MailboxMessage[] = [];
  for await (const message of direction === 'inbox' ? client.inbox({ limit }) : client.sent({ limit })) {
    list.push(message);
    if (list.length >= limit) break;
  }
  const who = direction === 'inbox' ? 'FROM' : 'TO';
  const marks = list.map(messageMark);
  ctx.print(
    table(
      ['', 'ID', who, 'SENT (UTC)', 'MESSAGE', 'ATTACHMENT'],
      list.map((m, i) => [
        marks[i]!,
        m.id,
        direction === 'inbox' ? m.sender.username : m.recipient.username,
        when(m.sentAt),
        m.readable ? preview(m.text) : unreadableNote(m),
        m.attachment ? `${m.attachment.name || '(unnamed)'} ${size(m.attachment.data.length)}` : '',
      ]),
    ) + legendFor(marks, MESSAGE_LEGEND),
    list.map((m) => messageJson(m)),
  );
}

export async function read(ctx: Context, id: string, options: { save?: string }) {
  const client = await ctx.unlockedClient();
  const message = await client.read(parsePositiveInt(id, 'The message id'));
  const heading = [
    `Message #${message.id} from ${line(message.sender.username)} to ${line(message.recipient.username)}, ${when(message.sentAt)} UTC`,
    ...trustLines(message, { quiet: false }),
  ].join('\n');
  if (!message.readable && message.noSenderCopy) {
    // Nothing is wrong: the original backend kept no copy for the sender. Said plainly, exit 0.
    ctx.print(`${heading}\n\n${unreadableNote(message)}`, { ...messageJson(message), saved_to: null });
    return;
  }
  if (!message.readable) {
    // The metadata on stdout (or JSON with readable: false), the reason on stderr, and a failing exit code.
    ctx.print(heading, { ...messageJson(message), saved_to: null });
    throw new InvalidResponseError(`Message #${message.id} cannot be decrypted: ${message.reason}.`);
  }
  let savedTo: string | null = null;
  if (message.attachment && options.save) {
    savedTo = await saveAttachment(options.save, message.attachment.name, message.attachment.data, `attachment-${message.id}`);
  }
  const lines = [heading, '', terminalText(message.text)];
  if (message.attachment) {
    const a = message.attachment;
    lines.push('', `Attachment: ${line(a.name) || '(unnamed)'} (${line(a.mime) || 'unknown type'}, ${size(a.data.length)})` + (savedTo ? ` saved to ${line(savedTo)}` : ' — use --save DIR to save it'));
  }
  ctx.print(lines.join('\n'), { ...messageJson(message), saved_to: savedTo });
}

/**
 * Prints messages as they arrive (API.md B 9), decrypted: `read`'s layout for
 * people, one JSON object per line with --json. Status lines go to stderr.
 * Reconnects by itself; Ctrl-C (or SIGTERM) ends it with exit 0, a revoked
 * session with exit 3.
 */
export async function watch(ctx: Context, options: { after?: string }) {
  const afterId = options.after === undefined ? undefined : options.after === '0' ? 0 : parsePositiveInt(options.after, '--after');
  const { client, profile } = await ctx.client();
  await client.keys(); // fail on a revoked token before asking for a password
  const password = await ctx.passwords.current();
  await client.unlock(password);
  const status = (text: string) => process.stderr.write(`${text}\n`);
  let previous: SubscriptionState = 'connecting';
  let announced = false;
  const subscription = client.subscribe({
    afterId,
    onMessage: (message) => void process.stdout.write(ctx.json ? `${terminalJson(liveMessageJson(message), 0)}\n` : `${terminalText(liveMessageText(message))}\n\n`),
    onEvent: (event) => {
      if (event.type === 'key_rotated') {
        status(`Key version ${line(event.key_id)} is now current${event.unlocked ? '' : ' (your password did not open it: messages for it cannot be decrypted)'}.`);
      }
      if (event.type === 'session_revoked') status('This session was revoked.');
    },
    onStateChange: ({ state }) => {
      if (state === 'live') status(announced ? 'connected' : `connected to ${line(client.baseUrl)} as ${line(profile.user.username)}, watching (Ctrl-C to stop)`);
      if (state === 'live') announced = true;
      if (state === 'reconnecting' && previous !== 'reconnecting') status('reconnecting…');
      previous = state;
    },
    passwordForNewKey: () => password,
    onError: (error) => status(`securechat: ${describeError(error)}`),
  });
  const stop = () => subscription.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const error = await subscription.closed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (error) throw error;
  // The socket's closing handshake should end the process at once; never hang on a silent server.
  setTimeout(() => process.exit(), 2000).unref();
}

/** `read`'s layout; the attachment is not in the event, `read --save` fetches it. */
function liveMessageText(m: LiveMessage): string {
  const lines = [`Message #${m.id} from ${line(m.sender.username)} to ${line(m.recipient.username)}, ${when(m.sentAt)} UTC`, ...trustLines(m, { quiet: true })];
  lines.push(m.readable ? terminalText(m.text) : unreadableNote(m));
  const a = m.attachmentInfo;
  if (a) lines.push(`Attachment: ${line(a.name) || '(unnamed)'} (${line(a.mime) || 'unknown type'}) — securechat read ${m.id} --save DIR saves it`);
  return lines.join('\n');
}

/** What shows instead of the text of a message that cannot be read: why, or — for one's own mail from before SecureChat — that there is no copy. */
function unreadableNote(m: UnreadableMessage): string {
  return m.noSenderCopy ? `(${line(m.reason)})` : `(cannot be decrypted: ${line(m.reason)})`;
}

/** As `inbox --json` rows, plus `mailbox`; the attachment has no size (its bytes are not in the event). */
function liveMessageJson(m: LiveMessage) {
  const { id, ...rest } = messageJson(m);
  return { id, mailbox: m.mailbox, ...rest, attachment: m.attachmentInfo };
}

export async function rotate(ctx: Context) {
  const { client } = await ctx.client();
  const envelope = await client.rotateKeys(await ctx.passwords.current());
  const print = await fingerprintOrNull(envelope.public_key);
  ctx.print(`New key version ${line(envelope.key_id)} is current; earlier messages stay readable. Fingerprint ${print ?? '(unusable key)'}`, { key_id: envelope.key_id, fingerprint: print });
}

export async function sessions(ctx: Context) {
  const { client } = await ctx.client();
  const list = await client.sessions();
  ctx.print(
    table(['ID', 'CREATED (UTC)', 'LAST USED', 'EXPIRES', 'CLIENT'], list.map((s) => [`${s.id}${s.current ? '*' : ''}`, when(s.created_at), when(s.last_used_at), when(s.expires_at), preview(s.user_agent, 40)])) +
      '\n* this session',
    list,
  );
}

export async function revoke(ctx: Context, id: string) {
  const { client } = await ctx.client();
  await client.revokeSession(parsePositiveInt(id, 'The session id'));
  ctx.print(`Session ${line(id)} revoked.`, { revoked: Number(id) });
}

export async function passwd(ctx: Context) {
  const { client } = await ctx.client();
  const oldPassword = await ctx.passwords.current('Current password: ');
  const newPassword = await ctx.passwords.fresh('New password: ');
  const envelopes = await client.changePassword(oldPassword, newPassword);
  ctx.print(`Password changed; ${envelopes.length} key version(s) re-sealed, your other sessions were logged out.`, { key_versions: envelopes.map((e) => e.key_id) });
}

export async function keys(ctx: Context) {
  const { client } = await ctx.client();
  const list = await Promise.all((await client.keys()).map(async (k) => ({ ...k, fingerprint: await fingerprintOrNull(k.public_key) })));
  ctx.print(
    table(['KEY', 'CREATED (UTC)', 'PBKDF2 ROUNDS', 'FINGERPRINT'], list.map((k, i) => [`v${k.key_id}${i === 0 ? ' (current)' : ''}`, when(k.created_at), k.private_key_iterations, k.fingerprint ?? '(unusable key)'])),
    list.map((k) => ({ key_id: k.key_id, created_at: k.created_at, private_key_iterations: k.private_key_iterations, fingerprint: k.fingerprint })),
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
