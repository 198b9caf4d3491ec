/**
 * The attack scenarios: each starts its own fresh server, runs one bounded
 * attack from 127.0.0.1 and reports the server's peak RSS (and growth over
 * its idle baseline), /healthz latency measured from another process, the
 * attack's own outcomes, and its goals met or not. Part of `npm run bench`
 * (shortened with `--quick`); alone:
 *
 *   npx tsx bench/attacks.ts [--quick] [huge-bodies|held-bodies|big-sends|non-readers|key-versions …]
 */
import { fileURLToPath } from 'node:url';
import { heldBodies } from './attacks/held-bodies.ts';
import { hugeBodies } from './attacks/huge-bodies.ts';
import { bigSends } from './attacks/big-sends.ts';
import { nonReaders } from './attacks/non-readers.ts';
import { keyVersions } from './attacks/key-versions.ts';
import type { Attack, AttackOptions } from './attacks/common.ts';
import { renderAttacks, type AttackResult } from './lib/attack-report.ts';
import { saveResults } from './lib/report.ts';

export const ATTACKS: Record<string, Attack> = {
  'huge-bodies': hugeBodies,
  'held-bodies': heldBodies,
  'big-sends': bigSends,
  'non-readers': nonReaders,
  'key-versions': keyVersions,
};

/** Runs the named attacks (all by default) one after the other. */
export async function runAttacks(options: AttackOptions, names = Object.keys(ATTACKS)): Promise<AttackResult[]> {
  const results: AttackResult[] = [];
  for (const name of names) {
    const attack = ATTACKS[name];
    if (!attack) throw new Error(`unknown attack "${name}"; one of: ${Object.keys(ATTACKS).join(', ')}`);
    results.push(...(await attack(options)));
  }
  return results;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const names = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const log = (line: string) => process.stderr.write(`[attack] ${line}\n`);
  const results = await runAttacks({ quick, log }, names.length > 0 ? names : undefined);
  console.log('\n' + renderAttacks(results) + '\n');
  console.log(`saved ${saveResults([], { attacks: results }, quick)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
