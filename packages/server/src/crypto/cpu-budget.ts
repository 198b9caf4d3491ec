/**
 * A budget for CPU-heavy cryptography (RSA key generation, PBKDF2, Argon2).
 * These run off the event loop, on libuv's or Argon2's threads, but threads
 * still compete for cores: with every core busy generating keys, the event
 * loop is scheduled late and every other request's latency grows. So at most
 * `cores - 1` heavy operations run at once (at least 1); the rest wait their
 * turn, and one core is always left for answering requests.
 *
 * @example
 * const pair = await heavy(() => generateRsaKeyPair(2048));
 */
import { availableParallelism } from 'node:os';

const limit = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: (() => void)[] = [];

export async function heavy<T>(work: () => Promise<T>): Promise<T> {
  if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
  else running += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next(); // hand the slot over directly
    else running -= 1;
  }
}
