/**
 * One autocannon run, in its own process so the load generator does not share
 * a CPU budget with the orchestrator. Reads a LoadSpec (JSON) from argv[2],
 * prints a LoadResult (JSON) on stdout.
 */
import autocannon from 'autocannon';
import { makeE2eBodies } from './lib/e2e-bodies.ts';
import type { LoadResult, LoadSpec } from './lib/types.ts';

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
let counter = 0;
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;
const runTag = Math.random().toString(36).slice(2, 8);
const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const randomPage = ({ newestId, span, minLimit, maxLimit }: NonNullable<LoadSpec['randomPages']>) =>
  `${spec.path}?before_id=${newestId + 1 - randomInt(0, span - 1)}&limit=${randomInt(minLimit, maxLimit)}`;

const e2e = spec.kind === 'send-e2e' ? makeE2eBodies(spec.e2e!) : null;

function request(): autocannon.Request {
  switch (spec.kind) {
    case 'send-e2e':
      return {
        method: 'POST',
        path: spec.path,
        setupRequest: (req) => {
          const next = e2e!.next();
          return { ...req, headers: { 'content-type': 'application/json', 'x-auth-token': next.token }, body: next.body };
        },
      };
    case 'send':
      return {
        method: 'POST',
        path: spec.path,
        setupRequest: (req) => {
          const sender = pick(spec.tokens!);
          return {
            ...req,
            headers: { 'content-type': 'application/json', 'x-auth-token': sender },
            body: JSON.stringify({ recipient: pick(spec.recipients!), message: spec.text, ...(spec.attachment ? { attachment_data: spec.attachment, attachment_name: 'bench.bin' } : {}) }),
          };
        },
      };
    case 'get':
      return {
        method: 'GET',
        path: spec.path,
        headers: { 'x-auth-token': spec.tokens![0]! },
        ...(spec.randomPages ? { setupRequest: (req: autocannon.Request) => ({ ...req, path: randomPage(spec.randomPages!) }) } : {}),
      };
    case 'register':
      return {
        method: 'POST',
        path: spec.path,
        setupRequest: (req) => ({
          ...req,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: `r${runTag}${process.pid}n${counter++}`, password: 'bench-password-1' }),
        }),
      };
    case 'login':
      return {
        method: 'POST',
        path: spec.path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: spec.recipients![0], password: 'bench-password-1' }),
      };
  }
}

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.duration,
  amount: spec.amount,
  warmup: spec.warmup > 0 ? { connections: spec.connections, duration: spec.warmup } : undefined,
  requests: [request()],
  timeout: 60,
} as autocannon.Options);

const warm = (result as unknown as { warmup?: autocannon.Result }).warmup;
const out: LoadResult = {
  rps: result.requests.average,
  mean: result.latency.average,
  p50: result.latency.p50,
  p90: result.latency.p90,
  p99: result.latency.p99,
  errors: result.errors + result.timeouts + result.non2xx,
  requests: result.requests.total,
  allRequests: result.requests.total + (warm?.requests.total ?? 0),
  ...(e2e ? { reusedBodies: e2e.reused() } : {}),
};
process.stdout.write(JSON.stringify(out) + '\n');
