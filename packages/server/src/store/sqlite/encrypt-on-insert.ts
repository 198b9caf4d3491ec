/**
 * The row completer of the messages writer thread (writer-thread.ts): the
 * server-side encryption of a text-only plaintext send (crypto/hybrid.ts),
 * done on the thread that then inserts the row, so a send is handed from the
 * event loop to one thread and back instead of to two (docs/performance.md).
 */
import { encryptMessage } from '../../crypto/hybrid.ts';
import { publicKeyOfPem } from '../../crypto/pem-keys.ts';
import type { TextToEncrypt } from '../ports.ts';

type CiphertextColumns = 'encrypted_symmetric_key' | 'sender_encrypted_symmetric_key' | 'encrypted_message' | 'message_nonce';

export async function completeRow(send: TextToEncrypt): Promise<Record<CiphertextColumns, string>> {
  const ciphertext = await encryptMessage(
    { text: send.text, attachment: null },
    { recipient: publicKeyOfPem(send.recipientPem), sender: publicKeyOfPem(send.senderPem) },
  );
  if (ciphertext === null) throw new Error('a text-only send has no attachment to be invalid');
  return {
    encrypted_symmetric_key: ciphertext.encrypted_symmetric_key,
    sender_encrypted_symmetric_key: ciphertext.sender_encrypted_symmetric_key,
    encrypted_message: ciphertext.encrypted_message,
    message_nonce: ciphertext.message_nonce,
  };
}
