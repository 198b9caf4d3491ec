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
}

export async function measurePrimitives(kdfIterations: number, quick: boolean): Promise<PrimitiveCosts> {
  const n = quick ? 3 : 10;
  const password = 'bench-password-1';
  const phc = await hash(password, ARGON2 as never);
  return {
    rsaKeygenMs: await cpuPerCall(n, () => promisify(generateKeyPair)('rsa', { modulusLength: 2048 })),
    pbkdf2Ms: await cpuPerCall(Math.ceil(n / 2), () => promisify(pbkdf2)(password, 'salt-salt-salt-1', kdfIterations, 32, 'sha256')),
    argon2HashMs: await cpuPerCall(n, () => hash(password, ARGON2 as never)),
    argon2VerifyMs: await cpuPerCall(n, () => verify(phc, password)),
  };
}
