/** The attack scenarios' table: memory, /healthz latency, goals met or not, and outcomes. */
import type { Measured } from './attack-server.ts';
import type { HealthStats } from './health.ts';

export interface Goal {
  what: string;
  target: string;
  measured: string;
  /** null: could not be measured (e.g. the server died first) */
  met: boolean | null;
}

export interface AttackResult {
  scenario: string;
  baselineMiB: number;
  peakMiB: number;
  growthMiB: number;
  health: HealthStats;
  /** the server exited during the attack (crashed, or killed at the benchmark's RSS cap) */
  died: string | null;
  goals: Goal[];
  outcome: string;
}

const MiB = 2 ** 20;

/** Goal: `measured` ≤ `limit`. */
export function atMost(what: string, measured: number, limit: number, unit: string, digits = 0): Goal {
  return { what, target: `≤ ${limit} ${unit}`, measured: `${measured.toFixed(digits)} ${unit}`, met: Number.isFinite(measured) ? measured <= limit : null };
}

export function result(scenario: string, measured: Measured<unknown>, goals: Goal[], outcome: string): AttackResult {
  const { rss, health } = measured;
  const died = rss.capped ? `killed at the benchmark's RSS cap` : rss.died ? 'server exited during the attack' : null;
  return {
    scenario,
    baselineMiB: rss.baselineBytes / MiB,
    peakMiB: rss.peakBytes / MiB,
    growthMiB: (rss.peakBytes - rss.baselineBytes) / MiB,
    health,
    died,
    goals: died ? goals.map((goal) => ({ ...goal, met: false })) : goals,
    outcome: died ? `${died}; ${outcome}` : outcome,
  };
}

/** The RSS-growth and /healthz-p99 goals most scenarios share. */
export function memoryAndHealthGoals(measured: Measured<unknown>, maxGrowthMiB: number | null, maxHealthP99Ms: number | null): Goal[] {
  const goals: Goal[] = [];
  if (maxGrowthMiB !== null) goals.push(atMost('RSS growth', (measured.rss.peakBytes - measured.rss.baselineBytes) / MiB, maxGrowthMiB, 'MiB'));
  if (maxHealthP99Ms !== null) goals.push(atMost('/healthz p99', measured.health.p99Ms, maxHealthP99Ms, 'ms'));
  return goals;
}

const metText = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : 'NOT MET');

function metSummary(goals: Goal[]): string {
  const met = goals.filter((goal) => goal.met).length;
  return `${met}/${goals.length}`;
}

/** The attack table; the realtime scenarios use it too, with `label` 'scenario'. */
export function renderAttacks(results: AttackResult[], markdown = false, label = 'attack'): string {
  const header = [label, 'idle RSS MiB', 'peak RSS MiB', 'growth MiB', '/healthz p50/p99/max ms', 'goals met', 'outcome'];
  const body = results.map((r) => [
    r.scenario,
    r.baselineMiB.toFixed(0),
    r.peakMiB.toFixed(0),
    r.growthMiB.toFixed(0),
    `${r.health.p50Ms.toFixed(0)} / ${r.health.p99Ms.toFixed(0)} / ${r.health.slowestMs.toFixed(0)}${r.health.failures ? ` (${r.health.failures} failed)` : ''}`,
    metSummary(r.goals),
    r.outcome,
  ]);
  const goalLines = results.flatMap((r) => r.goals.map((g) => `${r.scenario}: ${g.what} ${g.target}, measured ${g.measured}: ${metText(g.met)}`));
  if (markdown) {
    const table = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
    return `${table}\n\nGoals:\n\n${goalLines.map((line) => `- ${line}`).join('\n')}`;
  }
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i]!.length)));
  const table = [header, ...body].map((cells) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
  return `${table}\n\ngoals:\n${goalLines.map((line) => `  ${line}`).join('\n')}`;
}
