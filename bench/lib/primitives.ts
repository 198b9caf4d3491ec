/** The cost of the cryptographic primitives alone, measured in this process. */
import { hash, verify } from '@node-rs/argon2';
import { generateKeyPair, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';

const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const; // as the server

async function cpuPerCall(times: number, run: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < times; i++) await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / times;
}

export interface PrimitiveCosts {
  rsaKeygenMs: number;
  pbkdf2Ms: number;
  argon2HashMs: number;
  argon2VerifyMs: number;
  /**
   * What two cores give here: a fixed amount of PBKDF2 work done by two
   * concurrent streams, against one stream alone, in throughput. 2.0 on two
   * idle cores; less where the machine's cores are shared with others.
   */
  twoCoreScaling: number;
}

export async function measurePrimitives(kdfIterations: number, quick: boolean): Promise<PrimitiveCosts> {
  const n = quick ? 3 : 10;
  const password = 'bench-password-1';
  const phc = await hash(password, ARGON2 as never);
  const keygen = () => promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const derive = () => promisify(pbkdf2)(password, 'salt-salt-salt-1', kdfIterations, 32, 'sha256');
  return {
    // A key pair's cost varies widely with the search for its primes: more samples than the rest.
    rsaKeygenMs: await cpuPerCall(3 * n, keygen),
    pbkdf2Ms: await cpuPerCall(Math.ceil(n / 2), derive),
    argon2HashMs: await cpuPerCall(n, () => hash(password, ARGON2 as never)),
    argon2VerifyMs: await cpuPerCall(n, () => verify(phc, password)),
    twoCoreScaling: await twoCoreScaling(quick ? 2 : 8, derive),
  };
}

/** Throughput of two concurrent streams of `calls` calls each, over one stream alone (by wall time). */
async function twoCoreScaling(calls: number, run: () => Promise<unknown>): Promise<number> {
  const stream = async () => {
    for (let i = 0; i < calls; i++) await run();
  };
  let start = performance.now();
  await stream();
  const alone = performance.now() - start;
  start = performance.now();
  await Promise.all([stream(), stream()]);
  return (2 * alone) / (performance.now() - start);
}
