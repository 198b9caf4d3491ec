/**
 * Polls `<url>/healthz` every 20 ms in its own process — so that the
 * benchmark's own work (building and parsing 25 MiB bodies) cannot delay the
 * probe — until its stdin closes; then prints the slowest answer in ms.
 */
const url = process.argv[2]!;
let slowest = 0;
let polling = true;
process.stdin.on('end', () => (polling = false)).resume();
process.stdout.write('ready\n');
while (polling) {
  const start = performance.now();
  await fetch(`${url}/healthz`).then((res) => res.arrayBuffer());
  slowest = Math.max(slowest, performance.now() - start);
  await new Promise((resolve) => setTimeout(resolve, 20));
}
process.stdout.write(JSON.stringify({ slowestMs: slowest }) + '\n');
