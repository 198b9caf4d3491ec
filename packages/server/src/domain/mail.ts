/**
 * Mail: sending (server-side encryption, or checked client ciphertext) and
 * mailbox reads with keyset cursors. Only ciphertext is ever stored.
 */
import { messageSigningBytesFromDigests } from '@securechat/protocol';
import type { Config } from '../config.ts';
import { decodedLengthOfBytes, decodeStrictBase64, encodedLength } from '../crypto/base64.ts';
import { encryptOnPool } from '../crypto/cipher-pool.ts';
import { ED25519_SIGNATURE_BYTES, ed25519PublicKey, verifyEd25519 } from '../crypto/ed25519.ts';
import { requireBytes } from './client-crypto.ts';
import type { MessageCiphertext, PlainAttachment } from '../crypto/hybrid.ts';
import { checkEncryptedSend, CIPHERTEXT_FIELDS, type CheckedCiphertext, type EncryptedSend } from './encrypted-send.ts';
import type { CiphertextDigests } from '@securechat/protocol';
import type { InsertOutcome, Mailbox, NewMessage, PageEntry, Store } from '../store/ports.ts';
import { Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import { NO_FAN_OUT, type FanOut } from '../realtime/fan-out.ts';
import { MessageCache } from './message-cache.ts';
import { PageCache } from './page-cache.ts';
import { checkClientId, encryptedSendDigest, plaintextSendDigest } from './send-digest.ts';
import { DeferredAttachment, messageView, storedMessageView, type MessageView, type UserView } from './views.ts';

/**
 * A send body: plaintext fields (original API) or the ciphertext fields of
 * EncryptedSend. A large base64 value arrives as its ASCII bytes
 * (http/large-json.ts) and is never turned into a string.
 */
export interface SendRequest extends EncryptedSend {
  message?: string;
  attachment_data?: string | Buffer;
  /** Part B10: the sender's idempotency key, lowercase UUID text. */
  client_id?: string;
}

/** A send's answer: the message, and whether this request stored it (201) or an earlier one with its client_id did (200). */
export interface SendResult {
  message: MessageView;
  created: boolean;
}

export interface ListRequest {
  direction: Mailbox;
  limit: number;
  beforeId?: number;
  afterId?: number;
}

export interface MessagePage {
  messages: MessageView[];
  /** Cursor for the next page, absent on the last one. */
  next?: { beforeId: number } | { afterId: number };
}

const RECIPIENT_KEY_UNUSABLE = "The recipient's public key is unusable: no message can be encrypted for it until they rotate their key.";
const SENDER_KEY_UNUSABLE = 'Your public key is unusable: rotate your key (POST /api/keys/rotate/) before sending.';

export class Mail {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #config: Config;
  readonly #cache = new MessageCache();
  /** Null when other instances write to the database too: a page from memory could miss their messages. */
  readonly #pages: PageCache<MessagePage> | null;
  readonly #fanOut: FanOut;

  constructor(store: Store, keyring: Keyring, config: Config, fanOut: FanOut = NO_FAN_OUT, options: { aloneOnDatabase: boolean } = { aloneOnDatabase: true }) {
    this.#store = store;
    this.#pages = options.aloneOnDatabase ? new PageCache<MessagePage>() : null;
    this.#fanOut = fanOut;
    this.#keyring = keyring;
    this.#config = config;
  }

  /**
   * Sends a message: plaintext that the server encrypts (the original API),
   * or ciphertext an end-to-end client made (Part B4) — never a mix.
   *
   * With a `client_id` (Part B10) it is idempotent: when the sender already
   * has a message with that client_id, nothing is encrypted or stored and the
   * answer is that message (`created: false`) if the body is the same, a 409
   * if not. The database's unique index decides between concurrent sends.
   */
  async send(sender: UserView, request: SendRequest): Promise<SendResult> {
    const encrypted = CIPHERTEXT_FIELDS.some((field) => request[field] !== undefined);
    if (encrypted && (request.message !== undefined || request.attachment_data !== undefined)) {
      throw new ValidationError('Send either plaintext (message, attachment_data) or ciphertext fields, not both.', {
        non_field_errors: ['Plaintext and ciphertext fields cannot be mixed.'],
      });
    }
    const clientId = request.client_id ?? null;
    if (clientId !== null) checkClientId(clientId);
    const signature = request.signature ?? null;
    if (signature !== null) checkSignatureShape(signature, encrypted, clientId, request.sender_key_id ?? null);
    const plain = encrypted ? null : this.#plaintextOf(request);
    const recipient = await this.#store.users.findIdentity(request.recipient);
    if (!recipient) throw ValidationError.field('recipient', 'Unknown recipient.');

    // Digested before the body moves to a cipher thread; nothing at all without a client_id.
    const digest = clientId === null ? null : plain ? plaintextDigest(request, plain) : await encryptedSendDigest(request);
    if (clientId !== null) {
      // A retry of a committed send: answered before any key lookup or encryption.
      const earlier = await this.#store.messages.findByClientId(sender.id, clientId);
      if (earlier) return this.#repeated(sender, earlier.id, earlier.request_digest === digest);
    }

    const [recipientKey, senderKey] = await Promise.all([this.#keyring.currentKey(recipient.id), this.#keyring.currentKey(sender.id)]);
    if (recipientKey === null) throw ValidationError.field('recipient', RECIPIENT_KEY_UNUSABLE);
    if (senderKey === null) throw ValidationError.field('non_field_errors', SENDER_KEY_UNUSABLE);
    if (!plain) requireSignatureIfSigning(senderKey.signingPublicKey, signature);
    const parties = { sender: sender.id, recipient: recipient.id };
    const messages = this.#store.messages;
    let row: NewMessage;
    let id: InsertOutcome;
    if (plain !== null && plain.attachment === null && messages.insertEncrypting) {
      // The store's writer thread encrypts and inserts: one hand-off instead of two (docs/performance.md).
      row = messageRow(parties, withKeyIds(NOT_YET_ENCRYPTED, recipientKey.keyId, senderKey.keyId), '', '', clientId, digest, null);
      id = await messages.insertEncrypting(row, { text: plain.text, recipientPem: recipientKey.pem, senderPem: senderKey.pem });
    } else {
      const sealed: CheckedCiphertext & { digests?: CiphertextDigests | null } = plain
        ? withKeyIds(
            (await encryptOnPool(plain, { recipient: recipientKey, sender: senderKey }, sender.id)) ?? invalidAttachment(),
            recipientKey.keyId,
            senderKey.keyId,
          )
        : await checkEncryptedSend(request, { recipient: recipientKey, sender: senderKey }, this.#config.maxAttachmentBytes, { digests: signature !== null });
      const hasAttachment = sealed.encrypted_attachment.length > 0;
      const attachmentName = hasAttachment ? (request.attachment_name ?? '') : '';
      const attachmentMime = hasAttachment ? (request.attachment_mime ?? '') : '';
      if (signature !== null) this.#verifySignature(sender, recipient, clientId!, sealed, attachmentName, attachmentMime, senderKey, signature);
      row = messageRow(parties, sealed, attachmentName, attachmentMime, clientId, digest, signature);
      id = await messages.insert(row);
    }
    // Another send with this client_id was committed first (a concurrent retry): nothing was stored.
    if (typeof id !== 'number') return this.#repeated(sender, id.existingId, id.sameRequest);
    this.#pages?.changed(sender.id);
    this.#pages?.changed(recipient.id);
    // Not cached here: under a stream of sends, holding every new message promoted it to the old
    // generation and cost more in garbage collection than its first read from SQLite.
    const view = storedMessageView(row, id, sender, recipient, row.encrypted_attachment);
    // Realtime (B 9): published in the same turn the insert resolved in — after the commit, and in
    // commit order, which is id order (docs/realtime.md). No await may come between the two.
    this.#fanOut.publish({ type: 'message', id, senderId: sender.id, recipientId: recipient.id, view });
    return { message: view, created: true };
  }

  /** Part B 11: over the values as they will be stored (and as every reader will check them). */
  #verifySignature(
    sender: UserView,
    recipient: { username: string },
    clientId: string,
    sealed: CheckedCiphertext & { digests?: CiphertextDigests | null },
    attachmentName: string,
    attachmentMime: string,
    senderKey: { keyId: number; signingPublicKey: string | null },
    signature: string,
  ): void {
    const bytes = messageSigningBytesFromDigests(
      {
        sender: sender.username,
        recipient: recipient.username,
        client_id: clientId,
        key_id: sealed.key_id,
        sender_key_id: sealed.sender_key_id,
        encrypted_symmetric_key: sealed.encrypted_symmetric_key,
        sender_encrypted_symmetric_key: sealed.sender_encrypted_symmetric_key,
        message_nonce: sealed.message_nonce,
        attachment_nonce: sealed.attachment_nonce,
        attachment_name: attachmentName,
        attachment_mime: attachmentMime,
      },
      sealed.digests!,
    );
    // On the event loop, not a cipher thread: libsodium verifies in ~48 µs
    // and the hop to a thread and back costs ~35 µs of CPU under load. On
    // 2 cores shared with the load generator CPU is what limits sends:
    // +0.074 server CPU ms per signed send here against +0.109 with the
    // hop (bench/RESULTS.md, "Signed sends"). Re-measure with
    // bench/signed-sends.ts on a machine with idle cores before moving it.
    if (!verifyEd25519(ed25519PublicKey(senderKey.signingPublicKey!), bytes, signature)) throw badSignature(senderKey.keyId);
  }

  /** Part B10: a send whose client_id its sender already used for message `id`. */
  async #repeated(sender: UserView, id: number, sameRequest: boolean): Promise<SendResult> {
    if (!sameRequest) {
      throw new Conflict(
        `client_id was already used for a different message (id ${id}): a retry must repeat the same body, and a new message needs a new client_id.`,
      );
    }
    return { message: await this.get(sender, id), created: false };
  }

  #plaintextOf(request: SendRequest): { text: string; attachment: PlainAttachment | null } {
    const text = request.message ?? '';
    const attachment = this.#decodeAttachment(request.attachment_data ?? '');
    if (text === '' && attachment === null) {
      throw new ValidationError('Provide a message or an attachment.', { message: ['Provide a message or an attachment.'] });
    }
    return { text, attachment };
  }

  /** A mailbox page; the same page object while the mailbox is unchanged (http/message-json.ts keeps its encoding). */
  async list(user: UserView, request: ListRequest): Promise<MessagePage> {
    if (!this.#pages) return this.#readPage(user, request);
    const key = { userId: user.id, ...request };
    const cached = this.#pages.get(key);
    if (cached) return cached;
    const version = this.#pages.versionOf(user.id);
    const page = await this.#readPage(user, request);
    this.#pages.set(key, version, page);
    return page;
  }

  async #readPage(user: UserView, request: ListRequest): Promise<MessagePage> {
    // One extra entry tells whether a next page exists.
    const entries = await this.#store.messages.listPage({
      userId: user.id,
      mailbox: request.direction,
      limit: request.limit + 1,
      beforeId: request.beforeId,
      afterId: request.afterId,
    });
    const wanted = entries.slice(0, request.limit);
    const kept = withinAttachmentBudget(wanted, this.#config.pageAttachmentBytes);
    const messages = await this.#views(kept.map((entry) => entry.id));
    const last = messages.at(-1);
    if ((kept.length === wanted.length && entries.length <= request.limit) || !last) return { messages };
    return { messages, next: request.afterId !== undefined ? { afterId: last.id } : { beforeId: last.id } };
  }

  async get(user: UserView, id: number): Promise<MessageView> {
    const [message] = await this.#views([id]);
    if (!message) throw new NotFound('Message not found.');
    if (message.sender.id !== user.id && message.recipient.id !== user.id) throw new Forbidden('This message belongs to other users.');
    const attachment = message.encrypted_attachment;
    if (!(attachment instanceof DeferredAttachment)) return message;
    return { ...message, encrypted_attachment: await this.readAttachment(attachment) };
  }

  /** The bytes of an attachment a page left unread, when the page's response reaches it. */
  readAttachment(attachment: DeferredAttachment): Promise<Buffer> {
    return this.#store.messages.readAttachment(attachment.messageId);
  }

  /** Views of these messages, in the same order, from the cache or the store. */
  async #views(ids: number[]): Promise<MessageView[]> {
    const found = new Map<number, MessageView>();
    const missing: number[] = [];
    for (const id of ids) {
      const cached = this.#cache.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    for (const row of await this.#store.messages.findByIds(missing)) found.set(row.id, this.#cache.remember(messageView(row)));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  #decodeAttachment(data: string | Buffer): PlainAttachment | null {
    if (data.length === 0) return null;
    const limit = this.#config.maxAttachmentBytes;
    // Length first: an oversized attachment is refused without decoding it.
    if (data.length > encodedLength(limit) + 4) throw tooLarge(limit);
    if (Buffer.isBuffer(data)) {
      // Large: decoded slice by slice while it is encrypted.
      if (data.length % 4 !== 0) invalidAttachment();
      if (decodedLengthOfBytes(data) > limit) throw tooLarge(limit);
      return { base64: data };
    }
    const bytes = decodeStrictBase64(data);
    if (!bytes) invalidAttachment();
    if (bytes.length > limit) throw tooLarge(limit);
    return bytes;
  }
}

/**
 * The first entries of a page whose attachments add up to at most `budget`
 * base64 characters; the first always, however large. The page then ends
 * early and its Link leads on from its last message. Cut before any message
 * is read, so a page never loads more than it sends.
 */
function withinAttachmentBudget(entries: PageEntry[], budget: number): PageEntry[] {
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    total += entries[i]!.attachment_octets;
    if (i > 0 && total > budget) return entries.slice(0, i);
  }
  return entries;
}

/** Part B10: a plaintext send is compared by what is not secret (domain/send-digest.ts). */
function plaintextDigest(request: SendRequest, plain: { text: string; attachment: PlainAttachment | null }): string {
  const attachment = plain.attachment;
  return plaintextSendDigest({
    recipient: request.recipient,
    attachment_name: request.attachment_name,
    attachment_mime: request.attachment_mime,
    textBytes: Buffer.byteLength(plain.text, 'utf8'),
    attachmentBytes: attachment === null ? 0 : Buffer.isBuffer(attachment) ? attachment.length : decodedLengthOfBytes(attachment.base64),
  });
}

/** A text-only send's ciphertext columns until the store's writer thread fills them in (insertEncrypting). */
const NOT_YET_ENCRYPTED: MessageCiphertext = Object.freeze({
  encrypted_message: '',
  message_nonce: '',
  encrypted_attachment: '',
  attachment_nonce: '',
  encrypted_symmetric_key: '',
  sender_encrypted_symmetric_key: '',
});

/**
 * Every field written out: objects of one fixed shape. Spreading the
 * thread's reply into new objects made V8 build their hidden classes afresh
 * on each send (~10 µs).
 */
function messageRow(
  parties: { sender: number; recipient: number },
  sealed: CheckedCiphertext,
  attachmentName: string,
  attachmentMime: string,
  clientId: string | null,
  digest: string | null,
  signature: string | null,
): NewMessage {
  return {
    sender_id: parties.sender,
    recipient_id: parties.recipient,
    key_id: sealed.key_id,
    sender_key_id: sealed.sender_key_id,
    encrypted_symmetric_key: sealed.encrypted_symmetric_key,
    sender_encrypted_symmetric_key: sealed.sender_encrypted_symmetric_key,
    encrypted_message: sealed.encrypted_message,
    message_nonce: sealed.message_nonce,
    encrypted_attachment: sealed.encrypted_attachment,
    attachment_nonce: sealed.attachment_nonce,
    attachment_name: attachmentName,
    attachment_mime: attachmentMime,
    has_attachment: sealed.encrypted_attachment.length > 0 ? 1 : 0,
    sent_at: new Date().toISOString(),
    client_id: clientId,
    request_digest: digest,
    signature,
  };
}

function withKeyIds(ciphertext: MessageCiphertext, keyId: number, senderKeyId: number): CheckedCiphertext {
  return {
    key_id: keyId,
    encrypted_symmetric_key: ciphertext.encrypted_symmetric_key,
    sender_encrypted_symmetric_key: ciphertext.sender_encrypted_symmetric_key,
    sender_key_id: senderKeyId,
    encrypted_message: ciphertext.encrypted_message,
    message_nonce: ciphertext.message_nonce,
    encrypted_attachment: ciphertext.encrypted_attachment,
    attachment_nonce: ciphertext.attachment_nonce,
  };
}

/**
 * Part B 11, before any key is looked up: a signature is 64 bytes of strict
 * base64, on an end-to-end send only, with the client_id and sender_key_id
 * it covers.
 */
function checkSignatureShape(signature: string, encrypted: boolean, clientId: string | null, senderKeyId: number | null): void {
  if (!encrypted) {
    throw ValidationError.field('signature', 'signature belongs to end-to-end sends: a plaintext send is encrypted by the server, which cannot sign for you.');
  }
  requireBytes('signature', signature, ED25519_SIGNATURE_BYTES);
  if (clientId === null) throw ValidationError.field('client_id', 'A signed send needs a client_id: the signature covers it, so a replayed message shows as a repeat.');
  if (senderKeyId === null) {
    throw ValidationError.field('sender_key_id', 'A signed send needs sender_key_id (with sender_encrypted_symmetric_key): it names the key version whose signing key signed.');
  }
}

/** Part B 11: an account whose current key version has a signing key signs every end-to-end send; one without cannot sign. */
function requireSignatureIfSigning(signingPublicKey: string | null, signature: string | null): void {
  if (signingPublicKey !== null && signature === null) {
    throw ValidationError.field('signature', 'signature is required: your current key version has a signing key, so your end-to-end sends must be signed.');
  }
  if (signingPublicKey === null && signature !== null) {
    throw ValidationError.field('signature', 'Your current key version has no signing key to check this signature with: send unsigned, or rotate with a signing key first.');
  }
}

function badSignature(senderKeyId: number): ValidationError {
  return ValidationError.field(
    'signature',
    `signature does not verify: it must be your key version ${senderKeyId}'s Ed25519 signature over securechat/msg/v1 and this message's fields, exactly as sent.`,
  );
}

function invalidAttachment(): never {
  throw ValidationError.field('attachment_data', 'attachment_data must be standard base64 with padding.');
}

function tooLarge(limit: number): PayloadTooLarge {
  return new PayloadTooLarge(`Attachment is larger than the limit of ${limit} bytes.`);
}
