/**
 * Server-side send encryption on worker threads. A send's cryptography (two
 * RSA-OAEP wraps and AES-256-GCM, see hybrid.ts) is the largest part of what
 * a send costs the event loop. On a pool thread it costs the event loop one
 * structured-clone message each way, batched per turn, and it runs on
 * another core while the event loop serves the next requests.
 *
 * Text-only sends on a SQLite file do not come here: the writer thread
 * encrypts them as it inserts them (store/sqlite/encrypt-on-insert.ts), one
 * hand-off instead of two. This pool serves sends with an attachment, and
 * every send where the store has no writer thread (PostgreSQL, :memory:).
 *
 * - `cores − 1` threads (at least 1), at normal priority: unlike the heavy
 *   pool's key generation, this is the latency of every send.
 * - A sender's messages always go to the same thread, so they come back,
 *   and are stored, in the order they arrived.
 * - Attachments of 1 MiB or more are encrypted on the event loop instead,
 *   in slices that yield (hybrid.ts): a copy to a thread would double their
 *   memory.
 * - An attachment given as base64 bytes is a view of its request's body
 *   (http/large-json.ts), which nothing reads once the send is made: the
 *   body's memory is moved to the thread, not copied (a 64 KiB copy across
 *   threads costs more than encrypting it).
 * - Encryption has no side effects, so when a thread dies its unfinished
 *   sends are encrypted on the event loop — except those whose body had
 *   moved to it, which fail. A thread that cannot start turns the pool off.
 * - Part B 11's signature checks do not come here: they are verified on
 *   the event loop (domain/mail.ts says why).
 *
 * @example
 * const ciphertext = await encryptOnPool({ text: 'hi', attachment: null }, { recipient: { pem, publicKey }, sender }, senderId);
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { asBuffer } from '../shared-buffer.ts';
import { encryptMessage, type MessageCiphertext, type PlainAttachment } from './hybrid.ts';

/**
 * A public key as the pool takes it. Threads are sent the PEM text and keep
 * the keys they parsed, by PEM: cloning a KeyObject into a thread costs more
 * per send (a native handle and a new KeyObject on arrival) than the text.
 */
export interface PoolKey {
  pem: string;
  publicKey: KeyObject;
}

/** What a pool thread is sent: a PlainAttachment arrives as Uint8Arrays after the structured clone. */
export interface EncryptRequest {
  id: number;
  text: string;
  attachment: Uint8Array | { base64: Uint8Array } | null;
  recipientPem: string;
  senderPem: string;
}

export type CipherRequest = EncryptRequest;

export type CipherReply = { id: number; ciphertext: MessageCiphertext | null } | { id: number; error: string };

interface Plaintext {
  text: string;
  attachment: PlainAttachment | null;
}

interface Keys {
  recipient: PoolKey;
  sender: PoolKey;
}

interface Task {
  plain: Plaintext;
  keys: Keys;
  resolve(ciphertext: MessageCiphertext | null): void;
  reject(error: Error): void;
}

/**
 * Compiled (dist/, what npm start runs), a thread runs cipher-worker.js
 * itself. From the TypeScript sources (vitest, tsx) it starts at
 * cipher-thread.mjs, which first registers tsx in the thread.
 */
const THREAD_URL = import.meta.url.endsWith('.ts') ? new URL('./cipher-thread.mjs', import.meta.url) : new URL('./cipher-worker.js', import.meta.url);
const POOL_SIZE = Math.max(1, availableParallelism() - 1);
const ON_POOL_BELOW_BYTES = 1024 * 1024;

/** Same result as hybrid.ts's encryptMessage; `affinity` (the sender's id) picks the thread. */
export function encryptOnPool(plain: Plaintext, keys: Keys, affinity: number): Promise<MessageCiphertext | null> {
  if (!poolWorks || attachmentBytes(plain.attachment) >= ON_POOL_BELOW_BYTES) return encryptOnEventLoop(plain, keys);
  const thread = threadAt(affinity % POOL_SIZE);
  return new Promise((resolve, reject) => thread.submit({ plain, keys, resolve, reject }));
}

/** Starts the threads ahead of the first sends, which would otherwise wait for a thread to load (~0.3 s). */
export function startCipherPool(): void {
  for (let slot = 0; slot < POOL_SIZE; slot++) threadAt(slot);
}

/** How many sends were encrypted where, since the process started. */
export const cipherPoolCounts = { onThread: 0, onEventLoop: 0 };

/** Stops the pool's threads; sends still in them are encrypted on the event loop. The next send starts a thread again. */
export async function stopCipherPool(): Promise<void> {
  await Promise.all(threads.map((thread) => thread?.stop()));
}

let poolWorks = true;
const threads: Array<CipherThread | undefined> = [];
let nextId = 1;

function threadAt(slot: number): CipherThread {
  return (threads[slot] ??= new CipherThread(() => (threads[slot] = undefined)));
}

function encryptOnEventLoop(plain: Plaintext, keys: Keys): Promise<MessageCiphertext | null> {
  cipherPoolCounts.onEventLoop += 1;
  return encryptMessage(plain, { recipient: keys.recipient.publicKey, sender: keys.sender.publicKey });
}

/** A task whose thread stopped, done here instead. */
function runOnEventLoop(task: Task): void {
  encryptOnEventLoop(task.plain, task.keys).then(task.resolve, task.reject);
}

function attachmentBytes(attachment: PlainAttachment | null): number {
  if (attachment === null) return 0;
  return Buffer.isBuffer(attachment) ? attachment.length : attachment.base64.length;
}

class CipherThread {
  readonly #worker = new Worker(THREAD_URL);
  readonly #tasks = new Map<number, Task>();
  #outbox: CipherRequest[] = [];
  #moving = new Set<ArrayBuffer>();
  #hasAnswered = false;
  #stopping = false;
  #retired = false;

  constructor(onRetired: () => void) {
    this.#worker.unref(); // only pending work keeps the process alive
    this.#worker.on('message', (replies: CipherReply[]) => this.#settle(replies));
    this.#worker.on('error', (error) => this.#retire(onRetired, error));
    this.#worker.on('exit', (code) => this.#retire(onRetired, new Error(`cipher thread exited with code ${code}`)));
  }

  submit(task: Task): void {
    const id = nextId++;
    this.#tasks.set(id, task);
    const { text, attachment } = task.plain;
    if (attachment && !Buffer.isBuffer(attachment) && attachment.base64.buffer instanceof ArrayBuffer) {
      this.#moving.add(attachment.base64.buffer);
    }
    const request: CipherRequest = { id, text, attachment, recipientPem: task.keys.recipient.pem, senderPem: task.keys.sender.pem };
    // Sends of the same event-loop turn go out as one message.
    if (this.#outbox.push(request) === 1) setImmediate(() => this.#flush());
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#worker.terminate();
  }

  #flush(): void {
    if (this.#retired || this.#outbox.length === 0) return;
    this.#worker.ref();
    this.#worker.postMessage(this.#outbox, [...this.#moving]);
    this.#outbox = [];
    this.#moving.clear();
  }

  #settle(replies: CipherReply[]): void {
    this.#hasAnswered = true;
    for (const reply of replies) {
      const task = this.#tasks.get(reply.id);
      this.#tasks.delete(reply.id);
      if (!task) continue; // already finished on the event loop
      cipherPoolCounts.onThread += 1;
      if ('error' in reply) task.reject(new Error(reply.error));
      else task.resolve(reply.ciphertext && withBufferAttachment(reply.ciphertext));
    }
    if (this.#tasks.size === 0) this.#worker.unref();
  }

  #retire(onRetired: () => void, error: Error): void {
    if (this.#retired) return;
    this.#retired = true;
    onRetired();
    if (!this.#hasAnswered && !this.#stopping) {
      poolWorks = false;
      process.emitWarning(`send encryption stays on the event loop: its thread could not start (${error.message})`);
    }
    for (const task of this.#tasks.values()) {
      if (wasMoved(task.plain.attachment)) task.reject(new Error('the cipher thread stopped while it held this attachment'));
      else runOnEventLoop(task);
    }
    this.#tasks.clear();
    this.#outbox = [];
    this.#moving.clear();
  }
}

/** Memory moved to another thread leaves an empty view behind; an attachment is never empty. */
function wasMoved(attachment: PlainAttachment | null): boolean {
  return attachment !== null && !Buffer.isBuffer(attachment) && attachment.base64.byteLength === 0;
}

/** A large ciphertext comes back as a Uint8Array; the rest of the server expects a Buffer. */
function withBufferAttachment(ciphertext: MessageCiphertext): MessageCiphertext {
  const attachment = ciphertext.encrypted_attachment;
  if (typeof attachment === 'string' || Buffer.isBuffer(attachment)) return ciphertext;
  return { ...ciphertext, encrypted_attachment: asBuffer(attachment as Uint8Array) };
}
