/**
 * One fresh real server per attack (packages/server/dist/main.js on its own
 * temporary SQLite file, rate limits off unless asked), and `measureAttack`:
 * the server's resident memory sampled every 50 ms and /healthz probed from
 * another process while an attack runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHealthProbe, type HealthStats } from './health.ts';
import { rssBytes, SERVER_MAIN, startService } from './processes.ts';

const SAMPLE_EVERY_MS = 50;
/** Safety valve on a shared machine: a server past this is killed and the attack reported as such. */
export const RSS_CAP_BYTES = 4 * 2 ** 30;
const KILL_AFTER_MS = 3_000;

export interface AttackServer {
  url: string;
  pid: number;
  dbFile: string;
  /** Whether the process has exited (crashed, or killed at the RSS cap). */
  exited(): boolean;
  /** SIGTERM, then SIGKILL if it has not exited within 3 s; removes the database. */
  stop(): Promise<void>;
}

/** `fdLimit`: open files the server may need (its limit is raised to it if lower; see spawnNode). */
export async function startAttackServer(env: Record<string, string> = {}, { fdLimit }: { fdLimit?: number } = {}): Promise<AttackServer> {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-attack-'));
  const dbFile = join(dir, 'attack.db');
  let service;
  try {
    service = await startService(SERVER_MAIN, {
      DATABASE_URL: `sqlite:${dbFile}`,
      RATE_LIMIT_AUTH_PER_MIN: '0',
      LOG_LEVEL: 'warn',
      ...env,
    }, fdLimit ? { fdLimit } : {});
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const { child } = service;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    url: service.url,
    pid: child.pid!,
    dbFile,
    exited,
    stop: async () => {
      if (!exited()) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RssStats {
  /** median of a few samples taken while the server was idle, just before the attack */
  baselineBytes: number;
  peakBytes: number;
  /** the server exited during the attack */
  died: boolean;
  /** it was killed for passing RSS_CAP_BYTES */
  capped: boolean;
}

export interface Measured<T> {
  value: T;
  rss: RssStats;
  health: HealthStats;
  ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** RSS, or null once the process is gone. */
export function rssOrNull(pid: number): number | null {
  try {
    return rssBytes(pid);
  } catch {
    return null;
  }
}

/** The median of 5 samples over half a second, after a second of quiet. */
export async function idleRss(pid: number): Promise<number> {
  await sleep(1_000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssOrNull(pid) ?? 0);
    await sleep(100);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

/** Samples RSS every 50 ms; kills the server at the cap. */
export function sampleRss(server: AttackServer): { stop(): { peakBytes: number; died: boolean; capped: boolean } } {
  let peakBytes = 0;
  let died = false;
  let capped = false;
  const timer = setInterval(() => {
    const rss = rssOrNull(server.pid);
    if (rss === null || server.exited()) return void (died = true);
    peakBytes = Math.max(peakBytes, rss);
    if (rss > RSS_CAP_BYTES && !capped) {
      capped = true;
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, SAMPLE_EVERY_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakBytes, died: died || server.exited(), capped };
    },
  };
}

/**
 * Runs `attack` against an idle server while sampling its RSS and probing
 * /healthz; the probe and sampler stop however the attack ends.
 */
export async function measureAttack<T>(server: AttackServer, attack: () => Promise<T>): Promise<Measured<T>> {
  const baselineBytes = await idleRss(server.pid);
  const probe = await startHealthProbe(server.url);
  const sampler = sampleRss(server);
  const start = performance.now();
  const stopMeasuring = async () => ({ sampled: sampler.stop(), health: await probe.stop() });
  let value: T;
  try {
    value = await attack();
  } catch (error) {
    await stopMeasuring();
    throw error;
  }
  const ms = performance.now() - start;
  const { sampled, health } = await stopMeasuring();
  return { value, rss: { baselineBytes, ...sampled, peakBytes: Math.max(sampled.peakBytes, baselineBytes) }, health, ms };
}
