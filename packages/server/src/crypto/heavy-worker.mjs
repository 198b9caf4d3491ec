/**
 * A thread of the heavy-crypto pool (see heavy-pool.ts). Plain JavaScript so
 * it starts the same under tsx, vitest or plain node. It first lowers its own
 * scheduling priority to the nice value it is given, then runs one
 * synchronous operation per message.
 */
import { hashSync, verifySync } from '@node-rs/argon2';
import { generateKeyPairSync, pbkdf2Sync } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

lowerOwnPriority(workerData?.nice ?? constants.priority.PRIORITY_LOW);

const operations = {
  rsaKeyPair: ({ modulusLength }) =>
    generateKeyPairSync('rsa', {
      modulusLength,
      publicExponent: 0x10001,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    }),
  pbkdf2: ({ password, salt, iterations, keyLength }) => pbkdf2Sync(password, salt, iterations, keyLength, 'sha256'),
  argon2Hash: ({ password, options }) => hashSync(password, options),
  argon2Verify: ({ hash, password }) => verifySync(hash, password),
};

parentPort.on('message', ({ id, op, args }) => {
  try {
    parentPort.postMessage({ id, result: operations[op](args) });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});

/**
 * On Linux a thread has its own nice value: /proc/thread-self names this
 * thread's id, and setpriority() on it affects this thread alone. Elsewhere
 * the pool still works, only without the lower priority.
 */
function lowerOwnPriority(nice) {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, nice);
  } catch {
    // not Linux, or not permitted: run at normal priority
  }
}
