/**
 * The realtime scenarios (API B9): each starts its own fresh server and a
 * load-generator process (bench/realtime-worker.ts: raw `ws` clients with
 * header auth, REST sends over keep-alive connections), runs bounded from
 * 127.0.0.1, and reports its goals met or not, with the server's RSS and
 * /healthz from a probe in another process, in the attack table's layout.
 * Part of `npm run bench` (shortened with `--quick`); alone:
 *
 *   npx tsx bench/realtime.ts [--quick] [latency|capacity|storm …]
 */
import { fileURLToPath } from 'node:url';
import { renderAttacks, type AttackResult } from './lib/attack-report.ts';
import { saveResults } from './lib/report.ts';
import { capacity } from './realtime/capacity.ts';
import type { RealtimeOptions, RealtimeScenario } from './realtime/common.ts';
import { deliveryLatency } from './realtime/latency.ts';
import { reconnectStorm } from './realtime/storm.ts';

export const REALTIME: Record<string, RealtimeScenario> = {
  latency: deliveryLatency,
  capacity,
  storm: reconnectStorm,
};

/** Runs the named scenarios (all by default) one after the other. */
export async function runRealtime(options: RealtimeOptions, names = Object.keys(REALTIME)): Promise<AttackResult[]> {
  const results: AttackResult[] = [];
  for (const name of names) {
    const scenario = REALTIME[name];
    if (!scenario) throw new Error(`unknown realtime scenario "${name}"; one of: ${Object.keys(REALTIME).join(', ')}`);
    results.push(...(await scenario(options)));
  }
  return results;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const names = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const log = (line: string) => process.stderr.write(`[realtime] ${line}\n`);
  const results = await runRealtime({ quick, log }, names.length > 0 ? names : undefined);
  console.log('\n' + renderAttacks(results, false, 'scenario') + '\n');
  console.log(`saved ${saveResults([], { realtime: results }, quick)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
