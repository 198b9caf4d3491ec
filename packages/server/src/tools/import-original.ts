/**
 * `npm run import-original -- PATH/TO/db.sqlite3`
 *
 * Imports the original Django backend's database (its tables auth_user,
 * chat_userprofile, chat_message and chat_authtoken) into the EMPTY
 * database DATABASE_URL names (SQLite by default, or PostgreSQL), in one
 * transaction: all of it, or — when anything cannot be imported — nothing,
 * with every reason listed. The source file is opened read-only, read in one
 * snapshot, and never changed. Stop both servers first.
 *
 * - Users keep their ids, usernames, and Django password hashes, which login
 *   verifies (crypto/django-passwords.ts) and replaces with Argon2id on the
 *   first success. A name today's rules refuse (non-ASCII, look-alikes) is
 *   imported as it is and listed; two names that differ only in ASCII case
 *   are one name here (store/username-key.ts): the import refuses and lists
 *   them. Inactive users (is_active = 0) cannot log in (their hash gets a
 *   leading "!", which removing lets them in), and their tokens are left out,
 *   as the original refused both.
 * - Each profile becomes key version 1, its envelope byte for byte
 *   (390,000 PBKDF2 rounds stay readable; a password change or rotation uses
 *   today's), sealed_by 'server': the original server made it from the
 *   password, so server mode (and password change) work on it.
 * - Messages keep ids, sender, recipient, time and ciphertext byte for byte,
 *   key_id 1, without a sender copy. A message is counted as one that no key
 *   can open any more when it was sent before its recipient's key was last
 *   rotated (sent_at < chat_userprofile.last_rotated_at: the original wrapped
 *   it for the key it then discarded), or when its wrapped key does not have
 *   the size of the recipient's key, or its fields are not the wire format's.
 * - Tokens are stored as their SHA-256, as ours are, and expire one
 *   TOKEN_TTL_DAYS after the import.
 * - Times become ISO 8601 UTC with milliseconds (`2025-11-16T09:38:58.701Z`).
 * - Id sequences continue past the imported ids (and past the original's own
 *   sqlite_sequence, so an id it once gave is never given again).
 *
 * Exit codes: 0 imported; 1 refused or failed (nothing written); 2 usage.
 */
import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, redactUrl } from '../config.ts';
import { BATCH_ROWS, openTarget, type Writer } from './import-target.ts';
import {
  ImportRefused, messageRows, openSource, originalSequences, readAccounts, readMessage, shownName, type AccountNotes, type Row, type SourceKey,
  type UnreadableReason,
} from './original-source.ts';

export { ImportRefused, parseDjangoTime, shownName, type UnreadableReason } from './original-source.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Problems and report lines listed per kind before "… and N more". */
const LIST_LIMIT = 20;
/** Attachment characters per batch of messages (a batch of 25 MiB attachments must not become one giant statement). */
const BATCH_CHARS = 64 * 1024 * 1024;

export interface ImportOptions {
  /** TOKEN_TTL_DAYS: imported tokens expire this long after `now`. */
  tokenTtlDays: number;
  now?: Date;
}

export interface ImportReport extends AccountNotes {
  source: string;
  target: string;
  counts: { users: number; keys: number; messages: number; tokens: number };
  /** When the imported tokens expire. */
  tokensExpireAt: string;
  /** Messages imported that no key can open any more. */
  unreadable: Array<{ id: number; recipientId: number; recipient: string; reason: UnreadableReason }>;
}

interface Copied {
  messages: number;
  maxMessageId: number;
  unreadable: ImportReport['unreadable'];
  /** Why messages cannot be imported: then nothing is (the transaction is rolled back). */
  problems: string[];
}

/** The whole import; throws ImportRefused with sentences that say what to do. */
export async function importOriginal(sourcePath: string, databaseUrl: string, options: ImportOptions): Promise<ImportReport> {
  const now = options.now ?? new Date();
  const expiresAt = new Date(now.getTime() + options.tokenTtlDays * DAY_MS).toISOString();
  const source = openSource(sourcePath);
  try {
    source.exec('BEGIN'); // one snapshot for every read below
    const sequences = originalSequences(source);
    const { users, keys, sessions, notes, problems } = readAccounts(source, expiresAt);
    if (problems.length > 0) throw refusal(problems);
    const target = await openTarget(databaseUrl);
    let copied: Copied = { messages: 0, maxMessageId: 0, unreadable: [], problems: [] };
    try {
      await target.inTransaction(async (writer) => {
        const occupied = await writer.firstNonEmpty();
        if (occupied) {
          throw new ImportRefused(
            `The database at ${redactUrl(databaseUrl)} is not empty (${occupied.table} has ${occupied.rows} rows): import into a new, empty database — nothing was written.`,
          );
        }
        await writer.insert('users', users);
        await writer.insert('user_keys', [...keys.values()].map((key) => key.row));
        await writer.insert('sessions', sessions);
        copied = await copyMessages(source, writer, users, keys);
        if (copied.problems.length > 0) throw refusal(copied.problems);
        const maxId = (rows: Row[]) => rows.reduce((max, row) => Math.max(max, row.id as number), 0);
        await writer.continueSequences({
          users: Math.max(maxId(users), sequences.auth_user ?? 0),
          messages: Math.max(copied.maxMessageId, sequences.chat_message ?? 0),
        });
      });
    } finally {
      await target.close();
    }
    return {
      source: sourcePath,
      target: redactUrl(databaseUrl),
      counts: { users: users.length, keys: keys.size, messages: copied.messages, tokens: sessions.length },
      tokensExpireAt: expiresAt,
      ...notes,
      unreadable: copied.unreadable,
    };
  } finally {
    source.close();
  }
}

function refusal(problems: string[]): ImportRefused {
  const shown = problems.slice(0, LIST_LIMIT * 2);
  const more = problems.length > shown.length ? [`… and ${problems.length - shown.length} more`] : [];
  return new ImportRefused(
    `${problems.length === 1 ? 'One thing' : `${problems.length} things`} in the original database cannot be imported, so nothing was: fix ${problems.length === 1 ? 'it' : 'them'} in a copy of db.sqlite3 and import that.`,
    [...shown, ...more],
  );
}

/** Copies every message in id order, in batches; once one cannot be imported, only checks the rest (to list every reason). */
async function copyMessages(sqlite: Database.Database, writer: Writer, users: Row[], keys: Map<number, SourceKey>): Promise<Copied> {
  const copied: Copied = { messages: 0, maxMessageId: 0, unreadable: [], problems: [] };
  const { problems } = copied;
  const names = new Map(users.map((user) => [user.id as number, user.username as string]));
  let batch: Row[] = [];
  let batchChars = 0;
  const flush = async () => {
    if (batch.length > 0 && problems.length === 0) await writer.insert('messages', batch);
    batch = [];
    batchChars = 0;
  };
  for (const row of messageRows(sqlite)) {
    const message = readMessage(row, names, keys, problems);
    if (!message) continue;
    copied.messages += 1;
    copied.maxMessageId = Math.max(copied.maxMessageId, message.row.id as number);
    if (message.unreadable) {
      const recipientId = message.row.recipient_id as number;
      copied.unreadable.push({ id: message.row.id as number, recipientId, recipient: names.get(recipientId)!, reason: message.unreadable });
    }
    batch.push(message.row);
    batchChars += (message.row.encrypted_attachment as string).length;
    if (batch.length >= BATCH_ROWS || batchChars >= BATCH_CHARS) await flush();
  }
  await flush();
  return copied;
}

// ── the report ────────────────────────────────────────────────────────────

const UNREADABLE_WHY: Record<UnreadableReason, string> = {
  rotated: "sent before the recipient's key was rotated in the original, which discarded the old key",
  'other-key': "its wrapped key does not fit the recipient's key: it was made for another one",
  malformed: 'its ciphertext fields are not in the wire format',
};

export function formatReport(report: ImportReport): string {
  const { counts } = report;
  const lines = [
    `Imported ${report.source} into ${report.target}:`,
    `  ${counts.users} users, ${counts.keys} keys (key version 1 each), ${counts.messages} messages, ${counts.tokens} tokens (valid until ${report.tokensExpireAt}).`,
  ];
  const section = <T>(title: string, items: T[], show: (item: T) => string) => {
    if (items.length === 0) return;
    lines.push(`${title} (${items.length}):`);
    for (const item of items.slice(0, LIST_LIMIT)) lines.push(`  ${show(item)}`);
    if (items.length > LIST_LIMIT) lines.push(`  … and ${items.length - LIST_LIMIT} more`);
  };
  section('Accounts that cannot log in', report.cannotLogIn, (a) => `${shownName(a.username)} (id ${a.id}): ${a.reason}`);
  section(
    "Usernames today's rules refuse, imported as they are: each logs in by its exact name (new registrations keep today's rules)",
    report.nonconformingNames,
    (u) => `${shownName(u.username)} (id ${u.id})`,
  );
  section('Tokens left out', report.tokensLeftOut, (t) => `one of ${shownName(t.username)} (id ${t.userId}): ${t.reason}`);
  if (report.unreadable.length > 0) {
    lines.push(`Messages that no key can open any more (${report.unreadable.length}), imported as they are:`);
    for (const reason of Object.keys(UNREADABLE_WHY) as UnreadableReason[]) {
      const these = report.unreadable.filter((m) => m.reason === reason);
      if (these.length === 0) continue;
      const byRecipient = new Map<number, { name: string; ids: number[] }>();
      for (const m of these) byRecipient.set(m.recipientId, { name: m.recipient, ids: [...(byRecipient.get(m.recipientId)?.ids ?? []), m.id] });
      const who = [...byRecipient.entries()]
        .slice(0, LIST_LIMIT)
        .map(([id, { name, ids }]) => `to ${shownName(name)} (id ${id}): ${ids.length} (message ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''})`);
      lines.push(`  ${these.length} ${UNREADABLE_WHY[reason]}: ${who.join('; ')}${byRecipient.size > LIST_LIMIT ? '; …' : ''}`);
    }
  }
  if (counts.messages > 0) lines.push('Messages have no copy for their sender (the original kept none): senders see "sent before SecureChat: no copy for the sender".');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const usage = 'Usage: npm run import-original -- PATH/TO/db.sqlite3   (into the database DATABASE_URL names; it must be empty)';
  let parsed: { values: { help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.values.help || parsed.positionals.length !== 1) {
    console.error(`${usage}\nImports the original backend's users, keys, messages and tokens in one transaction. Stop both servers first.`);
    process.exit(parsed.values.help ? 0 : 2);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.error(`Refused: ${(error as Error).message}`);
    process.exit(1);
  }
  try {
    const report = await importOriginal(parsed.positionals[0]!, config.databaseUrl, { tokenTtlDays: config.tokenTtlDays });
    console.log(formatReport(report));
  } catch (error) {
    if (error instanceof ImportRefused) {
      console.error([`Refused: ${error.message}`, ...error.problems.map((problem) => `  - ${problem}`)].join('\n'));
    } else {
      console.error(`Import failed, nothing was written: ${(error as Error).message}`);
    }
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) void main();
