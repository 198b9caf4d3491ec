#!/usr/bin/env node
// Reads your inbox and decrypts it with nothing but node:crypto — the wire
// format is plain PBKDF2 + AES-256-GCM + RSA-OAEP, so any standard library works.
//
//   node examples/decrypt-inbox.mjs <username> <password> [server]
//
// (Passing a password on the command line is for this demo only.)
import { constants, createDecipheriv, pbkdf2Sync, privateDecrypt } from 'node:crypto';

const [username, password, server = 'http://127.0.0.1:8000'] = process.argv.slice(2);
if (!username || !password) {
  console.error('usage: node examples/decrypt-inbox.mjs <username> <password> [server]');
  process.exit(2);
}

const b64 = (text) => Buffer.from(text, 'base64');
function gcmDecrypt(key, nonce, sealed) {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAuthTag(sealed.subarray(-16)); // ciphertext ‖ 16-byte tag
  return Buffer.concat([decipher.update(sealed.subarray(0, -16)), decipher.final()]);
}
async function api(path, init = {}) {
  const res = await fetch(server + path, init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const { token } = await api('/api/auth/login/', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username, password }),
});
const headers = { 'x-auth-token': token };

// 1. Open every key version's envelope: PBKDF2-HMAC-SHA256 → AES-256-GCM → PKCS#8 PEM.
const privateKeys = new Map();
for (const envelope of await api('/api/keys/', { headers })) {
  const key = pbkdf2Sync(password, b64(envelope.private_key_salt), envelope.private_key_iterations, 32, 'sha256');
  privateKeys.set(envelope.key_id, gcmDecrypt(key, b64(envelope.private_key_nonce), b64(envelope.encrypted_private_key)).toString('utf8'));
}

// 2. Per message: unwrap the AES key (RSA-OAEP-SHA256) with the key version it names, then decrypt.
for (const message of await api('/api/messages/', { headers })) {
  const messageKey = privateDecrypt(
    { key: privateKeys.get(message.key_id), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    b64(message.encrypted_symmetric_key),
  );
  const text = message.encrypted_message ? gcmDecrypt(messageKey, b64(message.message_nonce), b64(message.encrypted_message)).toString('utf8') : '';
  const attachment = message.has_attachment ? gcmDecrypt(messageKey, b64(message.attachment_nonce), b64(message.encrypted_attachment)) : null;
  console.log(`#${message.id} from ${message.sender.username} at ${message.sent_at}: ${text}`);
  if (attachment) console.log(`   attachment ${message.attachment_name} (${message.attachment_mime}, ${attachment.length} bytes): ${JSON.stringify(attachment.toString('utf8').slice(0, 60))}`);
}

await fetch(server + '/api/auth/logout/', { method: 'POST', headers });
