import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MessageView } from '../src/domain/views.ts';
import { encodeMessageJson } from '../src/http/message-json.ts';

const view = (attachmentBytes: number): MessageView => ({
  id: 7,
  sender: { id: 1, username: 'a"lice' },
  recipient: { id: 2, username: 'bob' },
  encrypted_message: 'QUJD',
  encrypted_attachment: randomBytes(attachmentBytes).toString('base64'),
  attachment_name: 'tricky "encrypted_attachment":"" näme ✓.bin',
  attachment_mime: 'application/octet-stream',
  encrypted_symmetric_key: 'S0VZ',
  message_nonce: 'Tk9OQ0UxMjM0NTY3',
  attachment_nonce: 'Tk9OQ0U3NjU0MzIx',
  sent_at: '2026-11-25T18:00:00.000Z',
  has_attachment: true,
  key_id: 1,
  sender_encrypted_symmetric_key: '',
  sender_key_id: null,
});

describe('encodeMessageJson', () => {
  it.each([10, 2 * 1024 * 1024])('is byte-identical to JSON.stringify for a %i-byte attachment', (size) => {
    const v = view(size);
    expect(encodeMessageJson(v).equals(Buffer.from(JSON.stringify(v), 'utf8'))).toBe(true);
  });
});
