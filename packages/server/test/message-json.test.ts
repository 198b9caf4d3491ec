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
  client_id: null,
  signature: null,
});

describe('encodeMessageJson', () => {
  it.each([0, 10, 64 * 1024])('is one buffer, byte-identical to JSON.stringify, for a %i-byte attachment held as a string or as bytes', (size) => {
    const v = view(size);
    const expected = Buffer.from(JSON.stringify(v), 'utf8');
    const asBytes = { ...v, encrypted_attachment: Buffer.from(v.encrypted_attachment as string, 'latin1') };
    for (const parts of [encodeMessageJson(v), ...(size >= 1024 ? [encodeMessageJson(asBytes)] : [])]) {
      expect(parts).toHaveLength(1);
      expect(parts[0]!.equals(expected)).toBe(true);
    }
  });

  it('splices a large attachment held as bytes between the rest of the JSON, byte-identical to JSON.stringify', () => {
    const asString = view(2 * 1024 * 1024);
    const bytes = Buffer.from(asString.encrypted_attachment as string, 'latin1');
    const parts = encodeMessageJson({ ...asString, encrypted_attachment: bytes });
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(bytes); // sent as it is, not copied
    expect(Buffer.concat(parts).equals(Buffer.from(JSON.stringify(asString), 'utf8'))).toBe(true);
  });
});
