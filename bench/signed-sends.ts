/**
 * What verifying signatures (API.md B 11) costs the server's sends. On one
 * server (compiled, as npm start runs it; temporary SQLite file), in
 * alternating rounds:
 *
 * - send-text: the server-mode send of run.ts (nothing to verify: it should
 *   not move);
 * - send-e2e: end-to-end sends with a client_id, unsigned, from accounts
 *   without signing keys;
 * - send-e2e-signed: the same bodies plus `signature`, from accounts whose
 *   key has a signing key: the server verifies every one (Ed25519).
 *
 * The cost of verification is send-e2e-signed against send-e2e, run back to
 * back on the same server, their order swapped every round; it is reported
 * as the median over rounds of signed ÷ unsigned req/s and of the extra
 * server CPU per send, and from each scenario's best round (the table's
 * rows). Bodies are made by the load worker before each run
 * (bench/lib/e2e-bodies.ts), each with its own client_id, so none is a
 * repeat. With `--before <main.js>` (an older build) the same loads run
 * against it too, in the same rounds: before/after per scenario.
 * `--server <label>=<main.js>` (repeatable) adds more builds the same way,
 * each compared with "after" (e.g. the same commit verifying on the cipher
 * pool instead of the event loop). `--rounds N` runs N rounds instead of 3
 * (1 with --quick), `--duration S` measures S seconds instead of 10 (2 with
 * --quick): on a busy shared machine many short rounds do better than a few
 * long ones. Part of `npm run bench`; alone:
 *
 *   npm run build:js && npx tsx bench/signed-sends.ts [--quick] [--rounds N] [--duration S] [--before /path/to/old/packages/server/dist/main.js] [--server label=/path/to/main.js]
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register, registerUsers, uncommonPassword, type BenchUser } from './lib/api.ts';
import { cpuMs, runLoad, SERVER_MAIN, startService, type Service } from './lib/processes.ts';
import { renderTable, saveResults, type Row } from './lib/report.ts';
import type { E2eLoad, LoadResult, LoadSpec } from './lib/types.ts';

export interface SignedSendOptions {
  quick: boolean;
  log: (line: string) => void;
  /** an older server build to compare with, labelled "before" */
  before?: string;
  /** more builds to compare with, by label */
  servers?: Array<{ label: string; main: string }>;
  /** alternating rounds (default 3, 1 with quick) */
  rounds?: number;
  /** measured seconds per scenario and round (default 10, 2 with quick) */
  duration?: number;
}

const CONNECTIONS = 32;
const USERS = 8;
/** Bodies made per run: enough for this many sends a second over warm-up and measurement, with headroom. */
const MAX_EXPECTED_RPS = 12_000;

type Measured = LoadResult & { cpuMsPerRequest: number };

interface Target {
  label: string;
  service: Service;
  dir: string;
  specs: Record<string, Omit<LoadSpec, 'url' | 'duration' | 'warmup'>>;
}

export async function runSignedSends(options: SignedSendOptions): Promise<Row[]> {
  const { quick, log } = options;
  const duration = options.duration ?? (quick ? 2 : 10);
  const warmup = quick ? 1 : 3;
  const rounds = options.rounds ?? (quick ? 1 : 3);
  const bodies = Math.ceil(MAX_EXPECTED_RPS * (duration + warmup) * 1.2);
  const targets: Target[] = [];
  try {
    targets.push(await prepare('after', SERVER_MAIN, bodies, log));
    if (options.before) targets.push(await prepare('before', options.before, bodies, log));
    for (const { label, main } of options.servers ?? []) targets.push(await prepare(label, main, bodies, log));
    const all = new Map<string, Measured[]>();
    for (let round = 0; round < rounds; round++) {
      // Each server's signed and unsigned end-to-end sends back to back, their order swapped every
      // round (ABBA), so a load that comes and goes on a shared machine weighs on both alike.
      const names = round % 2 === 0 ? ['send-text', 'send-e2e', 'send-e2e-signed'] : ['send-text', 'send-e2e-signed', 'send-e2e'];
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        for (const name of names) {
          const key = `${name} (${target.label})`;
          const result = await measure(target.service, { ...target.specs[name]!, duration, warmup });
          log(`round ${round + 1}: ${key}: ${result.rps.toFixed(0)} req/s, ${result.cpuMsPerRequest.toFixed(3)} CPU ms/req, p99 ${result.p99} ms, ${result.errors} errors${result.reusedBodies ? `, ${result.reusedBodies} reused bodies` : ''}`);
          all.set(key, [...(all.get(key) ?? []), result]);
        }
      }
    }
    return rows(all, targets.map((t) => t.label), rounds);
  } finally {
    for (const target of targets) {
      await target.service.stop();
      rmSync(target.dir, { recursive: true, force: true });
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Rows of each scenario's best round (req/s, latency, its CPU); the cost of
 * verification also as medians over rounds of signed ÷ unsigned measured
 * back to back, which a busy shared machine moves less than a best round.
 */
function rows(all: Map<string, Measured[]>, labels: string[], rounds: number): Row[] {
  const out: Row[] = [];
  const bestOf = (key: string) => all.get(key)!.reduce((a, b) => (b.rps > a.rps ? b : a));
  const best = new Map([...all.keys()].map((key) => [key, bestOf(key)]));
  for (const label of labels) {
    const text = best.get(`send-text (${label})`)!;
    const plain = best.get(`send-e2e (${label})`)!;
    const signed = best.get(`send-e2e-signed (${label})`)!;
    const plains = all.get(`send-e2e (${label})`)!;
    const signeds = all.get(`send-e2e-signed (${label})`)!;
    const ratio = median(signeds.map((s, i) => s.rps / plains[i]!.rps));
    const cpu = median(signeds.map((s, i) => s.cpuMsPerRequest - plains[i]!.cpuMsPerRequest));
    const row = (scenario: string, r: Measured, note?: string): Row => ({
      scenario: `${scenario} (${label})`, rps: r.rps, p50: r.p50, p90: r.p90, p99: r.p99, errors: r.errors, cpuMsPerRequest: r.cpuMsPerRequest, note,
    });
    const cost = 1 - signed.rps / plain.rps;
    out.push(row('send-text', text), row('send-e2e', plain));
    out.push(
      row(
        'send-e2e-signed',
        signed,
        `${((1 - ratio) * 100).toFixed(1)} % fewer req/s than send-e2e and +${cpu.toFixed(3)} CPU ms/send (medians of ${rounds} rounds, back to back); ` +
          `best rounds: ${(cost * 100).toFixed(1)} %, +${(signed.cpuMsPerRequest - plain.cpuMsPerRequest).toFixed(3)} CPU ms${signed.reusedBodies ? `; ${signed.reusedBodies} sends reused a body` : ''}`,
      ),
    );
  }
  for (const label of labels.filter((l) => l !== 'after')) {
    for (const name of ['send-text', 'send-e2e', 'send-e2e-signed']) {
      const after = best.get(`${name} (after)`)!;
      const other = best.get(`${name} (${label})`)!;
      out.push({ scenario: `${name}: after ÷ ${label}`, note: `${((after.rps / other.rps) * 100).toFixed(1)} % (${after.rps.toFixed(0)} vs ${other.rps.toFixed(0)} req/s)` });
    }
  }
  return out;
}

async function measure(target: Service, spec: Omit<LoadSpec, 'url'>): Promise<Measured> {
  const before = cpuMs(target.child.pid!);
  const result = await runLoad({ ...spec, url: target.url });
  return { ...result, cpuMsPerRequest: (cpuMs(target.child.pid!) - before) / Math.max(1, result.allRequests) };
}

/** A fresh server on its own database, with the accounts each scenario sends from. */
async function prepare(label: string, main: string, bodies: number, log: (line: string) => void): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `securechat-signed-${label}-`));
  const service = await startService(main, { DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`, RATE_LIMIT_AUTH_PER_MIN: '0', KDF_ITERATIONS: '600000', LOG_LEVEL: 'warn' });
  log(`${label}: ${main} on ${service.url}; registering accounts`);
  const servers = await registerUsers(service.url, 'text', USERS);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const envelope = () => ({
    public_key: rsa,
    encrypted_private_key: randomBytes(1_232).toString('base64'),
    private_key_nonce: randomBytes(12).toString('base64'),
    private_key_salt: randomBytes(16).toString('base64'),
    private_key_iterations: 600_000,
  });
  const password = uncommonPassword();
  const plain: BenchUser[] = [];
  const signing: Array<BenchUser & { signingKey: string }> = [];
  for (let i = 0; i < USERS; i++) plain.push(await register(service.url, `e2e${i}`, password, envelope()));
  for (let i = 0; i < USERS; i++) {
    const pair = generateKeyPairSync('ed25519');
    const signingPublicKey = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    const user = await register(service.url, `signer${i}`, password, {
      ...envelope(),
      signing_public_key: signingPublicKey,
      encrypted_signing_key: randomBytes(64).toString('base64'),
      signing_key_nonce: randomBytes(12).toString('base64'),
    });
    signing.push({ ...user, signingKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') });
  }
  const ciphertext = {
    encrypted_symmetric_key: randomBytes(256).toString('base64'),
    sender_encrypted_symmetric_key: randomBytes(256).toString('base64'),
    encrypted_message: randomBytes(256 + 16).toString('base64'),
    message_nonce: randomBytes(12).toString('base64'),
  };
  const recipients = plain.map((u) => ({ username: u.username, keyId: 1 }));
  const e2e = (senders: E2eLoad['senders']): E2eLoad => ({ senders, recipients, bodies, ciphertext });
  const path = '/api/messages/send/';
  return {
    label,
    service,
    dir,
    specs: {
      'send-text': { kind: 'send', path, connections: CONNECTIONS, tokens: servers.map((u) => u.token), recipients: servers.map((u) => u.username), text: 'x'.repeat(256) },
      'send-e2e': { kind: 'send-e2e', path, connections: CONNECTIONS, e2e: e2e(plain.map((u) => ({ token: u.token, username: u.username, keyId: 1 }))) },
      'send-e2e-signed': {
        kind: 'send-e2e',
        path,
        connections: CONNECTIONS,
        e2e: e2e(signing.map((u) => ({ token: u.token, username: u.username, keyId: 1, signingKey: u.signingKey }))),
      },
    },
  };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const at = process.argv.indexOf('--before');
  const before = at > 0 ? process.argv[at + 1] : undefined;
  const servers = process.argv.flatMap((arg, i) => {
    if (arg !== '--server') return [];
    const [label, ...main] = (process.argv[i + 1] ?? '').split('=');
    if (!label || main.length === 0 || label === 'after' || label === 'before') throw new Error(`--server wants <label>=<main.js> with a label other than after/before, got ${process.argv[i + 1]}`);
    return [{ label, main: main.join('=') }];
  });
  const count = (flag: string): number | undefined => {
    const at = process.argv.indexOf(flag);
    if (at < 0) return undefined;
    const value = Number(process.argv[at + 1]);
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`${flag} wants a positive integer, got ${process.argv[at + 1]}`);
    return value;
  };
  const rounds = count('--rounds');
  const duration = count('--duration');
  const log = (line: string) => process.stderr.write(`[signed-sends] ${line}\n`);
  const rows = await runSignedSends({ quick, log, servers, ...(before ? { before } : {}), ...(rounds ? { rounds } : {}), ...(duration ? { duration } : {}) });
  console.log('\n' + renderTable(rows) + '\n');
  console.log(renderTable(rows, true) + '\n');
  console.log(`saved ${saveResults(rows, { signedSends: true }, quick)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
