/** Schema migrations, applied in name order at start-up. Never edit a shipped one: add a new one. */
import { sql, type Kysely, type Migration } from 'kysely';

export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_lower', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('current_key_id', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('user_keys')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('key_id', 'integer', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('encrypted_private_key', 'text', (c) => c.notNull())
        .addColumn('private_key_nonce', 'text', (c) => c.notNull())
        .addColumn('private_key_salt', 'text', (c) => c.notNull())
        .addColumn('private_key_iterations', 'integer', (c) => c.notNull())
        .addColumn('sealed_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_keys_pk', ['user_id', 'key_id'])
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'id']).execute();

      await db.schema
        .createTable('messages')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('sender_id', 'integer', (c) => c.notNull().references('users.id'))
        .addColumn('recipient_id', 'integer', (c) => c.notNull().references('users.id'))
        .addColumn('key_id', 'integer', (c) => c.notNull())
        .addColumn('sender_key_id', 'integer')
        .addColumn('encrypted_symmetric_key', 'text', (c) => c.notNull())
        .addColumn('sender_encrypted_symmetric_key', 'text', (c) => c.notNull())
        .addColumn('encrypted_message', 'text', (c) => c.notNull())
        .addColumn('message_nonce', 'text', (c) => c.notNull())
        .addColumn('encrypted_attachment', 'text', (c) => c.notNull())
        .addColumn('attachment_nonce', 'text', (c) => c.notNull())
        .addColumn('attachment_name', 'text', (c) => c.notNull())
        .addColumn('attachment_mime', 'text', (c) => c.notNull())
        .addColumn('has_attachment', 'integer', (c) => c.notNull())
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .execute();
      // Mailbox pages are range scans on these: fast at any mailbox depth.
      await db.schema.createIndex('messages_recipient').on('messages').columns(['recipient_id', 'id']).execute();
      await db.schema.createIndex('messages_sender').on('messages').columns(['sender_id', 'id']).execute();
    },
  },
  // Part B10, idempotent send: a sender's client_id names one message. The partial unique index is
  // what decides between concurrent sends (INSERT … ON CONFLICT DO NOTHING, store/messages.ts).
  '0002_message_client_id': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('messages').addColumn('client_id', 'text').execute();
      await db.schema.alterTable('messages').addColumn('request_digest', 'text').execute();
      await db.schema
        .createIndex('messages_sender_client_id')
        .on('messages')
        .columns(['sender_id', 'client_id'])
        .unique()
        .where(sql<boolean>`client_id IS NOT NULL`)
        .execute();
    },
  },
  // Part B 11, signatures: per key version its Ed25519 public key, the previous version's signature
  // vouching for it, and the signing private key sealed beside the RSA one; per message the sender's
  // signature. All nullable (older accounts, server-made keys and older messages have none), all
  // stored and returned verbatim.
  '0003_signatures': {
    async up(db: Kysely<unknown>) {
      for (const column of ['signing_public_key', 'key_signature', 'encrypted_signing_key', 'signing_key_nonce']) {
        await db.schema.alterTable('user_keys').addColumn(column, 'text').execute();
      }
      await db.schema.alterTable('messages').addColumn('signature', 'text').execute();
    },
  },
};
