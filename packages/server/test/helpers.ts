/** Shared test fixtures: an in-process app on a fresh database, and API shortcuts. */
import type { LightMyRequestResponse } from 'fastify';
import { Writable } from 'node:stream';
import { decryptMessage, importPrivateKey, openEnvelope, type Envelope, type Message } from '@securechat/protocol';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { App } from '../src/http/context.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { testDatabase } from './test-database.ts';

export { testDatabase, testStoreKind, type TestDatabase } from './test-database.ts';

/**
 * Config for tests: in-memory database, no rate limit, the minimum KDF rounds, quiet logs.
 * (startApp and startLiveServer put a test app on PostgreSQL instead when SECURECHAT_TEST_STORE=postgres: test-database.ts.)
 */
export function testConfig(env: Record<string, string> = {}) {
  return loadConfig({
    DATABASE_URL: 'sqlite::memory:',
    KDF_ITERATIONS: '100000',
    RATE_LIMIT_AUTH_PER_MIN: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

export interface TestApp {
  app: App;
  store: Store;
  close(): Promise<void>;
}

/** An app on a fresh database: SQLite in memory (or the DATABASE_URL given), or a PostgreSQL schema of its own (test-database.ts). */
export async function startApp(env: Record<string, string> = {}, logStream?: NodeJS.WritableStream): Promise<TestApp> {
  const database = await testDatabase(env.DATABASE_URL);
  const config = testConfig({ ...env, DATABASE_URL: database.url });
  const store = await openStore(config.databaseUrl);
  const app = await buildApp({ config, store, logStream });
  await app.ready();
  return {
    app,
    store,
    async close() {
      await app.close();
      await store.close();
      await database.drop();
    },
  };
}

/** A writable stream that keeps everything written to it, for log assertions. */
export function captureStream(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export function call(app: App, method: string, url: string, options: CallOptions = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['x-auth-token'] = options.token;
  let payload: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  return app.inject({ method: method as 'GET', url, headers, payload });
}

export interface Account {
  id: number;
  username: string;
  password: string;
  token: string;
  profile: Envelope;
}

let counter = 0;
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}_${process.pid}`;
}

export async function register(app: App, username = uniqueName(), password = 'password-123'): Promise<Account> {
  const res = await call(app, 'POST', '/api/auth/register/', { body: { username, password } });
  if (res.statusCode !== 201) throw new Error(`register ${username}: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.user.id, username, password, token: body.token, profile: body.profile };
}

export async function send(app: App, from: Account, body: Record<string, unknown>): Promise<Message> {
  const res = await call(app, 'POST', '/api/messages/send/', { token: from.token, body });
  if (res.statusCode !== 201) throw new Error(`send: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** What a client does: open the envelope named by key_id with the password, then decrypt. */
export async function decryptAs(account: Account, envelopes: Envelope[], message: Message, as: 'recipient' | 'sender' = 'recipient') {
  const keyId = as === 'recipient' ? message.key_id : message.sender_key_id;
  const envelope = envelopes.find((e) => e.key_id === keyId);
  if (!envelope) throw new Error(`no envelope with key_id ${keyId}`);
  const privateKey = await importPrivateKey(await openEnvelope(envelope, account.password));
  return decryptMessage(message, privateKey, as);
}

export async function envelopesOf(app: App, account: Account): Promise<Envelope[]> {
  const res = await call(app, 'GET', '/api/keys/', { token: account.token });
  if (res.statusCode !== 200) throw new Error(`keys: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64');
