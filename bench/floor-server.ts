/**
 * The floor: a plain node:http server doing only what a send cannot avoid —
 * the per-message cryptography (fresh AES key, AES-256-GCM of text and
 * attachment, RSA-OAEP wraps for recipient and sender) — and serving a fixed
 * 50-message inbox. No auth, no database, no validation. Our server is
 * measured as a ratio of this.
 *
 *   node --import tsx bench/floor-server.ts   (prints its URL)
 */
import { createServer } from 'node:http';
import { constants, createCipheriv, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';

const { publicKey: recipientKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const { publicKey: senderKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function gcm(key: Buffer, data: Buffer) {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  return { ciphertext: Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]).toString('base64'), nonce: nonce.toString('base64') };
}

const wrap = (key: Buffer, publicKey: KeyObject) =>
  publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key).toString('base64');

function encryptSend(body: { message?: string; attachment_data?: string }) {
  const key = randomBytes(32);
  const text = body.message ? gcm(key, Buffer.from(body.message, 'utf8')) : null;
  const file = body.attachment_data ? gcm(key, Buffer.from(body.attachment_data, 'base64')) : null;
  return {
    encrypted_message: text?.ciphertext ?? '',
    message_nonce: text?.nonce ?? '',
    encrypted_attachment: file?.ciphertext ?? '',
    attachment_nonce: file?.nonce ?? '',
    encrypted_symmetric_key: wrap(key, recipientKey),
    sender_encrypted_symmetric_key: wrap(key, senderKey),
  };
}

/** A realistic 50-message inbox body, serialised once. */
const inboxBody = JSON.stringify(
  Array.from({ length: 50 }, (_, i) => ({
    id: 1000 - i,
    sender: { id: 2, username: 'sender' },
    recipient: { id: 1, username: 'reader' },
    ...encryptSend({ message: 'x'.repeat(256) }),
    attachment_name: '',
    attachment_mime: '',
    sent_at: new Date().toISOString(),
    has_attachment: false,
    key_id: 1,
    sender_key_id: 1,
  })),
);

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(inboxBody);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(encryptSend(body)));
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`floor listening at http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
