/**
 * A database of the original Django backend, written by the test itself from
 * what is known of its schema: Django's own DDL for
 * auth_user and the chat_* tables, PBKDF2 password hashes computed here with
 * node:crypto, envelopes and messages made with @securechat/protocol, as the
 * original server made them (390,000 envelope rounds by default there).
 *
 * @example
 * const original = new OriginalDatabase(join(dir, 'db.sqlite3'));
 * const alice = await original.addUser({ username: 'alice', password: 'an uncommon pass 1' });
 * const bob = await original.addUser({ username: 'bob', password: 'another uncommon pass 2' });
 * const m = await original.addMessage(alice, bob, { text: 'hi' }, '2025-11-16 09:38:58.701170');
 * const token = original.addToken(alice, '2025-11-16 09:00:00');
 * original.close();
 */
import Database from 'better-sqlite3';
import { pbkdf2Sync, randomBytes, randomInt } from 'node:crypto';
import { encryptMessage, generateKeyPair, importPublicKey, sealPrivateKey } from '@securechat/protocol';

const DDL = `
CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL,
  "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL,
  "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL);
CREATE TABLE "chat_userprofile" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "public_key" text NOT NULL, "encrypted_private_key" text NOT NULL,
  "private_key_nonce" varchar(64) NOT NULL, "private_key_salt" varchar(64) NOT NULL, "private_key_iterations" integer unsigned NOT NULL CHECK ("private_key_iterations" >= 0),
  "created_at" datetime NOT NULL, "last_rotated_at" datetime NOT NULL,
  "user_id" integer NOT NULL UNIQUE REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "chat_message" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "encrypted_message" text NOT NULL, "encrypted_attachment" text NOT NULL,
  "encrypted_symmetric_key" text NOT NULL, "message_nonce" varchar(64) NOT NULL, "attachment_nonce" varchar(64) NOT NULL, "attachment_name" varchar(255) NOT NULL,
  "attachment_mime" varchar(255) NOT NULL, "sent_at" datetime NOT NULL,
  "recipient_id" integer NOT NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED,
  "sender_id" integer NOT NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "chat_authtoken" ("key" varchar(64) NOT NULL PRIMARY KEY, "created_at" datetime NOT NULL,
  "user_id" integer NOT NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX "chat_message_recipient_id" ON "chat_message" ("recipient_id");
CREATE INDEX "chat_message_sender_id" ON "chat_message" ("sender_id");
INSERT INTO django_migrations (app, name, applied) VALUES ('auth', '0012_alter_user_first_name_max_length', '2025-11-01 08:00:00.000001'),
  ('chat', '0001_initial', '2025-11-01 08:00:00.100000');
`;

export const ORIGINAL_ITERATIONS = 390_000;

/** Django's get_random_string alphabet for salts. */
function djangoSalt(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length: 22 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** Django's PBKDF2PasswordHasher (or its SHA-1 sibling) encoding of `password`. */
export function djangoPbkdf2(password: string, iterations: number, digest: 'sha256' | 'sha1' = 'sha256', salt = djangoSalt()): string {
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, digest === 'sha256' ? 32 : 20, digest).toString('base64');
  return `pbkdf2_${digest}$${iterations}$${salt}$${hash}`;
}

export interface OriginalUser {
  id: number;
  username: string;
  password: string;
  /** The current key pair (PEM). */
  publicKey: string;
  privateKey: string;
}

export interface NewOriginalUser {
  username: string;
  password: string;
  id?: number;
  /** The stored Django hash; default: pbkdf2_sha256 of `password` with `hashIterations` rounds. */
  passwordHash?: string;
  hashIterations?: number;
  /** The envelope's PBKDF2 rounds (the original's 390,000 by default). */
  envelopeIterations?: number;
  active?: boolean;
  joined?: string;
  /** Reuse a key pair (fixtures where the keys do not matter, to save key generation). */
  keyPair?: { publicKey: string; privateKey: string };
}

export interface OriginalMessage {
  id: number;
  text: string;
  attachment: Buffer | null;
}

export class OriginalDatabase {
  readonly sqlite: Database.Database;

  constructor(readonly path: string) {
    this.sqlite = new Database(path);
    this.sqlite.exec(DDL);
  }

  async addUser(user: NewOriginalUser): Promise<OriginalUser> {
    const pair = user.keyPair ?? (await generateKeyPair(2048));
    const envelope = await sealPrivateKey(pair.privateKey, user.password, { iterations: user.envelopeIterations ?? ORIGINAL_ITERATIONS });
    const joined = user.joined ?? '2025-11-16 09:00:00.125000';
    const { lastInsertRowid } = this.sqlite
      .prepare(
        `INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name)
         VALUES (?, ?, NULL, 0, ?, '', '', 0, ?, ?, '')`,
      )
      .run(user.id ?? null, user.passwordHash ?? djangoPbkdf2(user.password, user.hashIterations ?? 1_000), user.username, user.active === false ? 0 : 1, joined);
    const id = Number(lastInsertRowid);
    this.sqlite
      .prepare(
        `INSERT INTO chat_userprofile (public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, created_at, last_rotated_at, user_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(pair.publicKey, envelope.encrypted_private_key, envelope.private_key_nonce, envelope.private_key_salt, envelope.private_key_iterations, joined, joined, id);
    return { id, username: user.username, password: user.password, ...pair };
  }

  /** The original's rotation: a new key pair replaces the profile's, the old private key is gone. */
  async rotate(user: OriginalUser, at: string, envelopeIterations = ORIGINAL_ITERATIONS): Promise<void> {
    const pair = await generateKeyPair(2048);
    const envelope = await sealPrivateKey(pair.privateKey, user.password, { iterations: envelopeIterations });
    this.sqlite
      .prepare(
        `UPDATE chat_userprofile SET public_key = ?, encrypted_private_key = ?, private_key_nonce = ?, private_key_salt = ?, private_key_iterations = ?, last_rotated_at = ?
         WHERE user_id = ?`,
      )
      .run(pair.publicKey, envelope.encrypted_private_key, envelope.private_key_nonce, envelope.private_key_salt, envelope.private_key_iterations, at, user.id);
    user.publicKey = pair.publicKey;
    user.privateKey = pair.privateKey;
  }

  /** A message as the original server stored it: wrapped for the recipient's current key only. */
  async addMessage(
    from: OriginalUser,
    to: OriginalUser,
    content: { text?: string; attachment?: Buffer; name?: string; mime?: string },
    sentAt: string,
  ): Promise<OriginalMessage> {
    const fields = await encryptMessage({ text: content.text, attachment: content.attachment }, { recipient: await importPublicKey(to.publicKey) });
    const { lastInsertRowid } = this.sqlite
      .prepare(
        `INSERT INTO chat_message (encrypted_message, encrypted_attachment, encrypted_symmetric_key, message_nonce, attachment_nonce, attachment_name, attachment_mime,
           sent_at, recipient_id, sender_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        fields.encrypted_message, fields.encrypted_attachment, fields.encrypted_symmetric_key, fields.message_nonce, fields.attachment_nonce,
        content.attachment ? (content.name ?? '') : '', content.attachment ? (content.mime ?? '') : '', sentAt, to.id, from.id,
      );
    return { id: Number(lastInsertRowid), text: content.text ?? '', attachment: content.attachment ?? null };
  }

  /** A token as the original issued it: 32 random bytes, hex, stored in plain text. */
  addToken(user: OriginalUser, createdAt: string): string {
    const token = randomBytes(32).toString('hex');
    this.sqlite.prepare('INSERT INTO chat_authtoken (key, created_at, user_id) VALUES (?, ?, ?)').run(token, createdAt, user.id);
    return token;
  }

  close(): void {
    this.sqlite.close();
  }
}

/** A bcrypt_sha256 hash as Django writes it (this server cannot verify bcrypt). */
export const BCRYPT_SHA256 = 'bcrypt_sha256$$2b$12$3sAEqT0t4hx0HxUbmF8pIeCsPmC1tLLdyT6tGnWwH/Kef6XQ4MSxO';

/**
 * The original deployment most tests import: every kind of account and
 * message the import has to handle.
 *
 * - alice (id 1): pbkdf2_sha256 with the original's 390,000 rounds, envelope 390,000 too
 * - bob (2): pbkdf2_sha256 with 1,000 rounds (an older row), rotated his key after message 1
 * - "Zoë" (3): a name today's rules refuse; pbkdf2_sha1
 * - carol (4): Django's argon2 format
 * - dave (5): bcrypt_sha256, erin (6): unusable ("!"), frank (7): inactive, with a token
 * - "eve\u202Etxt.exe" (9): a hostile name (a bidi override); id 8 was deleted in the original
 * - messages 1–6 (7 was deleted): 1 is to bob before his rotation, so no key opens it
 * - tokens of alice, bob and frank
 */
export async function standardOriginal(path: string) {
  const { hashSync } = await import('@node-rs/argon2');
  const original = new OriginalDatabase(path);
  const spare = await generateKeyPair(2048);
  const alice = await original.addUser({ username: 'alice', password: 'Marmalade-Orbit-1987!', hashIterations: ORIGINAL_ITERATIONS, joined: '2025-11-16 09:00:00.125000' });
  const bob = await original.addUser({ username: 'bob', password: 'Quokka tangent 4455', envelopeIterations: 2_000, joined: '2025-11-16 09:05:00.000000' });
  const zoe = await original.addUser({ username: 'Zoë', password: 'Fjord-lantern-2211', passwordHash: djangoPbkdf2('Fjord-lantern-2211', 1_000, 'sha1'), envelopeIterations: 2_000 });
  const carolPassword = 'Teal-barnacle-7710';
  // Django's Argon2PasswordHasher writes "argon2" + argon2-cffi's PHC string (small parameters here: the test's speed).
  const carolHash = `argon2${hashSync(carolPassword, { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 2 })}`;
  const carol = await original.addUser({ username: 'carol', password: carolPassword, passwordHash: carolHash, envelopeIterations: 2_000 });
  const dave = await original.addUser({ username: 'dave', password: 'unknowable', passwordHash: BCRYPT_SHA256, envelopeIterations: 2_000, keyPair: spare });
  const erin = await original.addUser({ username: 'erin', password: 'unknowable', passwordHash: `!${randomBytes(20).toString('hex')}`, envelopeIterations: 2_000, keyPair: spare });
  const frank = await original.addUser({ username: 'frank', password: 'Inactive-otter-3030', envelopeIterations: 2_000, active: false, keyPair: spare });
  original.sqlite.prepare("INSERT INTO auth_user (id, password, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name) VALUES (8, '!', 0, 'gone', '', '', 0, 1, '2025-11-16 09:00:00', '')").run();
  original.sqlite.prepare('DELETE FROM auth_user WHERE id = 8').run();
  const eve = await original.addUser({ username: 'eve\u202Etxt.exe', password: 'Hostile-name-5150', envelopeIterations: 2_000, keyPair: spare });

  const attachment = Buffer.concat([Buffer.from('%PDF-1.4 r\u00e9sum\u00e9 \u0000\u0001\u00ff', 'latin1'), randomBytes(3000)]);
  const beforeRotation = await original.addMessage(alice, bob, { text: 'before bob rotated' }, '2025-11-16 09:38:58.701170');
  await original.rotate(bob, '2025-11-17 12:00:00.000000', 2_000);
  const messages = {
    beforeRotation,
    withFile: await original.addMessage(alice, bob, { text: 'Grüße, Bob — 🔐 after the rotation', attachment, name: 'résumé ✓.pdf', mime: 'application/pdf' }, '2025-11-18 08:15:00'),
    toAlice: await original.addMessage(bob, alice, { text: 'hello alice\nsecond line' }, '2025-11-18 08:16:01.000500'),
    fromZoe: await original.addMessage(zoe, alice, { text: 'from zoë' }, '2025-11-19 10:00:00.999999'),
    fileOnly: await original.addMessage(alice, zoe, { attachment: Buffer.from('only a file'), name: 'note.txt', mime: 'text/plain' }, '2025-11-19 11:00:00.250000'),
    fromCarol: await original.addMessage(carol, alice, { text: 'carol here' }, '2025-11-20 07:00:00.000001'),
  };
  const deleted = await original.addMessage(alice, bob, { text: 'deleted in the original' }, '2025-11-21 07:00:00.000001');
  original.sqlite.prepare('DELETE FROM chat_message WHERE id = ?').run(deleted.id);
  const tokens = {
    alice: original.addToken(alice, '2025-11-16 09:40:00.000000'),
    bob: original.addToken(bob, '2025-11-18 08:00:00.123456'),
    frank: original.addToken(frank, '2025-11-18 08:00:00.000000'),
  };
  original.close();
  return { users: { alice, bob, zoe, carol, dave, erin, frank, eve }, messages, tokens, attachment };
}
