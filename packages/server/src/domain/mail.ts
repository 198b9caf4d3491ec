/**
 * Mail: sending (server-side encryption, or checked client ciphertext) and
 * mailbox reads with keyset cursors. Only ciphertext is ever stored.
 */
import type { Config } from '../config.ts';
import { decodedLength, encodedLength, isStrictBase64 } from '../crypto/base64.ts';
import { encryptMessage } from '../crypto/hybrid.ts';
import { checkEncryptedSend, CIPHERTEXT_FIELDS, type EncryptedSend } from './encrypted-send.ts';
import type { Mailbox, Store } from '../store/index.ts';
import { Forbidden, NotFound, PayloadTooLarge, ValidationError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import { messageView, type MessageView, type UserView } from './views.ts';

/** A send body: plaintext fields (original API) or the ciphertext fields of EncryptedSend. */
export interface SendRequest extends EncryptedSend {
  message?: string;
  attachment_data?: string;
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

export class Mail {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #config: Config;

  constructor(store: Store, keyring: Keyring, config: Config) {
    this.#store = store;
    this.#keyring = keyring;
    this.#config = config;
  }

  /**
   * Sends a message: plaintext that the server encrypts (the original API),
   * or ciphertext an end-to-end client made (Part B4) — never a mix.
   */
  async send(sender: UserView, request: SendRequest): Promise<MessageView> {
    const encrypted = CIPHERTEXT_FIELDS.some((field) => request[field] !== undefined);
    if (encrypted && (request.message !== undefined || request.attachment_data !== undefined)) {
      throw new ValidationError('Send either plaintext (message, attachment_data) or ciphertext fields, not both.', {
        non_field_errors: ['Plaintext and ciphertext fields cannot be mixed.'],
      });
    }
    const plain = encrypted ? null : this.#plaintextOf(request);
    const recipient = await this.#store.users.findByUsername(request.recipient);
    if (!recipient) throw ValidationError.field('recipient', 'Unknown recipient.');

    const [recipientKey, senderKey] = await Promise.all([this.#keyring.currentKey(recipient.id), this.#keyring.currentKey(sender.id)]);
    const ciphertext = plain
      ? {
          ...encryptMessage(plain, { recipient: recipientKey.publicKey, sender: senderKey.publicKey }),
          key_id: recipientKey.keyId,
          sender_key_id: senderKey.keyId,
        }
      : checkEncryptedSend(request, { recipient: recipientKey, sender: senderKey }, this.#config.maxAttachmentBytes);
    const hasAttachment = ciphertext.encrypted_attachment !== '';
    const row = {
      sender_id: sender.id,
      recipient_id: recipient.id,
      ...ciphertext,
      attachment_name: hasAttachment ? (request.attachment_name ?? '') : '',
      attachment_mime: hasAttachment ? (request.attachment_mime ?? '') : '',
      has_attachment: hasAttachment ? 1 : 0,
      sent_at: new Date().toISOString(),
    };
    const id = await this.#store.messages.insert(row);
    return messageView({ ...row, id, sender_username: sender.username, recipient_username: recipient.username });
  }

  #plaintextOf(request: SendRequest): { text: string; attachment: Buffer | null } {
    const text = request.message ?? '';
    const attachment = this.#decodeAttachment(request.attachment_data ?? '');
    if (text === '' && attachment === null) {
      throw new ValidationError('Provide a message or an attachment.', { message: ['Provide a message or an attachment.'] });
    }
    return { text, attachment };
  }

  async list(user: UserView, request: ListRequest): Promise<MessagePage> {
    // One extra row tells whether a next page exists.
    const rows = await this.#store.messages.list({
      userId: user.id,
      mailbox: request.direction,
      limit: request.limit + 1,
      beforeId: request.beforeId,
      afterId: request.afterId,
    });
    const messages = rows.slice(0, request.limit).map(messageView);
    const last = messages.at(-1);
    if (rows.length <= request.limit || !last) return { messages };
    return { messages, next: request.afterId !== undefined ? { afterId: last.id } : { beforeId: last.id } };
  }

  async get(user: UserView, id: number): Promise<MessageView> {
    const row = await this.#store.messages.findById(id);
    if (!row) throw new NotFound('Message not found.');
    if (row.sender_id !== user.id && row.recipient_id !== user.id) throw new Forbidden('This message belongs to other users.');
    return messageView(row);
  }

  #decodeAttachment(data: string): Buffer | null {
    if (data === '') return null;
    const limit = this.#config.maxAttachmentBytes;
    // Length first: an oversized attachment is refused without decoding it.
    if (data.length > encodedLength(limit) + 4) throw tooLarge(limit);
    if (!isStrictBase64(data)) throw ValidationError.field('attachment_data', 'attachment_data must be standard base64 with padding.');
    if (decodedLength(data) > limit) throw tooLarge(limit);
    return Buffer.from(data, 'base64');
  }
}

function tooLarge(limit: number): PayloadTooLarge {
  return new PayloadTooLarge(`Attachment is larger than the limit of ${limit} bytes.`);
}
