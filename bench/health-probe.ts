/**
 * Polls `<url>/healthz` every 20 ms in its own process — so that the
 * benchmark's own work (building and parsing 25 MiB bodies, attack loops)
 * cannot delay the probe — until its stdin closes; then prints, as JSON, the
 * slowest answer and the p50/p99 of all answers in ms, and when (ms since
 * the first poll) the first 100 polls of 100 ms or more started. A poll that
 * gets no answer within 10 s counts as 10 s and as a failure.
 */
const url = process.argv[2]!;
const TIMEOUT_MS = 10_000;
const SLOW_MS = 100;
const latencies: number[] = [];
const slow: { atMs: number; ms: number }[] = [];
const firstPoll = performance.now();
let failures = 0;
let polling = true;
process.stdin.on('end', () => (polling = false)).resume();
process.stdout.write('ready\n');
while (polling) {
  const start = performance.now();
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.arrayBuffer();
    if (!res.ok) failures++;
  } catch {
    failures++;
  }
  const ms = performance.now() - start;
  latencies.push(ms);
  if (ms >= SLOW_MS && slow.length < 100) slow.push({ atMs: Math.round(start - firstPoll), ms: Math.round(ms) });
  await new Promise((resolve) => setTimeout(resolve, 20));
}
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(JSON.stringify({ slowestMs: at(1), p50Ms: at(0.5), p99Ms: at(0.99), polls: latencies.length, failures, slow }) + '\n');
