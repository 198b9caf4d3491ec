/**
 * A cipher-pool thread (see cipher-pool.ts): encrypts each batch of sends it
 * is given and answers a few at a time.
 */
import { parentPort } from 'node:worker_threads';
import type { CipherReply, CipherRequest, EncryptRequest } from './cipher-pool.ts';
import { asBuffer, ownsItsMemory } from '../shared-buffer.ts';
import { encryptMessage, type PlainAttachment } from './hybrid.ts';
import { publicKeyOfPem } from './pem-keys.ts';

const port = parentPort!;
let replies: CipherReply[] = [];
let transfer: ArrayBuffer[] = [];

function plainAttachment(attachment: EncryptRequest['attachment']): PlainAttachment | null {
  if (attachment === null) return null;
  return attachment instanceof Uint8Array ? asBuffer(attachment) : { base64: asBuffer(attachment.base64) };
}

async function encrypt(request: EncryptRequest): Promise<void> {
  try {
    const ciphertext = await encryptMessage(
      { text: request.text, attachment: plainAttachment(request.attachment) },
      { recipient: publicKeyOfPem(request.recipientPem), sender: publicKeyOfPem(request.senderPem) },
    );
    const attachment = ciphertext?.encrypted_attachment;
    if (Buffer.isBuffer(attachment) && ownsItsMemory(attachment)) transfer.push(attachment.buffer as ArrayBuffer);
    reply({ id: request.id, ciphertext });
  } catch (error) {
    reply({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
}

/** Answers go out a few at a time, so the event loop starts on the first ones while this thread encrypts the rest. */
const FLUSH_EVERY = 4;

function reply(message: CipherReply): void {
  const n = replies.push(message);
  if (n >= FLUSH_EVERY) flush();
  else if (n === 1) setImmediate(flush);
}

function flush(): void {
  if (replies.length === 0) return;
  port.postMessage(replies, transfer);
  replies = [];
  transfer = [];
}

port.on('message', (batch: CipherRequest[]) => {
  for (const request of batch) void encrypt(request);
});
