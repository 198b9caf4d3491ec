import { pbkdf2Sync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { heavyPoolLoad, runHeavy } from '../src/crypto/heavy-pool.ts';

/** Nice value of each of this process's threads (Linux /proc). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('heavy-crypto threads', () => {
  it('run each operation and return its result', async () => {
    const salt = Buffer.alloc(16, 1);
    const key = await runHeavy('pbkdf2', { password: Buffer.from('pw'), salt, iterations: 1000, keyLength: 32 });
    expect(Buffer.from(key)).toEqual(pbkdf2Sync('pw', salt, 1000, 32, 'sha256'));
    const hash = await runHeavy('argon2Hash', { password: 'pw', options: { memoryCost: 1024, timeCost: 1 } });
    expect(await runHeavy('argon2Verify', { hash, password: 'pw' })).toBe(true);
    expect(await runHeavy('argon2Verify', { hash, password: 'other' })).toBe(false);
  });

  it('reject with the error of a failed operation, and keep serving', async () => {
    await expect(runHeavy('argon2Verify', { hash: 'not a PHC string', password: 'pw' })).rejects.toThrow();
    const pair = await runHeavy('rsaKeyPair', { modulusLength: 2048 });
    expect(pair.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('runs as many registrations\' key generations at once as there are cores, and queues the rest', async () => {
    const cores = availableParallelism();
    const pairs = Array.from({ length: cores + 1 }, () => runHeavy('rsaKeyPair', { modulusLength: 2048 }));
    expect(heavyPoolLoad().running.bulk).toBe(cores);
    expect(heavyPoolLoad().waiting.bulk).toBe(1);
    expect(new Set((await Promise.all(pairs)).map((pair) => pair.publicKey)).size).toBe(cores + 1);
  });

  it.runIf(process.platform === 'linux')('run at the lowest scheduling priority while the event loop keeps normal priority', async () => {
    await runHeavy('pbkdf2', { password: Buffer.from('pw'), salt: Buffer.alloc(16), iterations: 1, keyLength: 32 });
    const nice = threadNiceValues();
    expect(nice[0]).toBe(0); // the main thread (the event loop) is the first task
    expect(nice).toContain(19);
  });
});
