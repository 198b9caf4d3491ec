/**
 * The realtime scenarios' load generator, in its own process: raw `ws`
 * clients (header auth, no SDK, no decryption: an event is parsed for its
 * type and id, nothing else) and server-mode REST sends over keep-alive
 * connections, all on one clock, so a send's 201 and its event are timed by
 * the same `performance.now()`. Driven by bench/realtime.ts through one JSON
 * line per call on stdin/stdout (bench/lib/realtime-protocol.ts). Talks to
 * 127.0.0.1 only; closes every socket and exits when its stdin ends, and
 * exits by itself after 30 minutes whatever happens.
 */
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type { BacklogResult, CatchUpResult, ConnectResult, FixedRateResult, GeneratorUser, Op, Ops } from './lib/realtime-protocol.ts';

const HARD_STOP_MS = 30 * 60_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** One client: a user's WebSocket, reopened on `connect`; per-connection records reset each time. */
class Client {
  ws: WebSocket | null = null;
  /** the largest message id received on any of its connections (what a client resumes from) */
  largestSeen = 0;
  closing = false;
  startedAt = 0;
  readyAt: number | null = null;
  readyLastId: number | null = null;
  closeCode: number | null = null;
  error: string | null = null;
  /** ids before `ready`, in arrival order */
  catchUp: number[] = [];
  /** ids after `ready` */
  live = 0;
  seen = new Set<number>();
  duplicates = 0;
  outOfOrder = 0;
  lastLiveId = 0;
  constructor(
    readonly index: number,
    readonly user: number,
  ) {}

  reset(): void {
    this.closing = false;
    this.readyAt = this.readyLastId = this.closeCode = this.error = null;
    this.catchUp = [];
    this.live = this.duplicates = this.outOfOrder = this.lastLiveId = 0;
    this.seen = new Set();
  }
}

interface Arrival {
  at: number;
  user: number;
  inbox: boolean;
}

let baseUrl = '';
let users: GeneratorUser[] = [];
let clients: Client[] = [];
let events = 0;
let unparsable = 0;
/** ids received twice on one connection, over every connection so far */
let duplicateEvents = 0;
const serverClosed: Record<string, number> = {};
/** while a fixed-rate run is measured: the first arrival of each id */
let arrivals: Map<number, Arrival> | null = null;
/** per user, the ids `backlog` sent last */
let expected: number[][] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bump = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function onFrame(client: Client, data: WebSocket.RawData): void {
  const at = performance.now();
  let event: { type?: string; mailbox?: string; last_id?: number; message?: { id?: number } };
  try {
    event = JSON.parse(data.toString());
  } catch {
    unparsable++;
    return;
  }
  if (event.type === 'ready') {
    client.readyAt = at;
    client.readyLastId = typeof event.last_id === 'number' ? event.last_id : null;
    return;
  }
  if (event.type !== 'message') return;
  const id = event.message?.id;
  if (typeof id !== 'number') return void unparsable++;
  events++;
  if (client.seen.has(id)) {
    client.duplicates++;
    duplicateEvents++;
  }
  else client.seen.add(id);
  if (id > client.largestSeen) client.largestSeen = id;
  if (client.readyAt === null) client.catchUp.push(id);
  else {
    client.live++;
    if (id < client.lastLiveId) client.outOfOrder++;
    client.lastLiveId = Math.max(client.lastLiveId, id);
  }
  if (arrivals && !arrivals.has(id)) arrivals.set(id, { at, user: client.user, inbox: event.mailbox === 'inbox' });
}

/** Opens `client`; resolves when it is ready or closed, or at `deadline`. */
function open(client: Client, resume: boolean, deadline: number): Promise<void> {
  client.reset();
  const query = resume && client.largestSeen > 0 ? `?after_id=${client.largestSeen}` : '';
  const token = users[client.user]!.token;
  client.startedAt = performance.now();
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/ws/${query}`, { headers: { 'x-auth-token': token }, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
  client.ws = ws;
  return new Promise((resolve) => {
    const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
    function finish(): void {
      clearTimeout(timer);
      ws.off('message', onReadyCheck);
      resolve();
    }
    function onReadyCheck(): void {
      if (client.readyAt !== null) finish();
    }
    ws.on('message', (data) => onFrame(client, data));
    ws.on('message', onReadyCheck);
    ws.on('error', (error: NodeJS.ErrnoException) => {
      const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
      client.error ??= status ? `HTTP ${status}` : (error.code ?? error.message);
    });
    ws.on('close', (code) => {
      client.closeCode = code;
      if (client.ws === ws) client.ws = null;
      if (!client.closing) bump(serverClosed, client.readyAt === null ? `${code} before ready` : String(code));
      finish();
    });
  });
}

async function connect({ concurrency = 100, spreadMs, resume = false, readyTimeoutMs }: Ops['connect']['args']): Promise<ConnectResult> {
  const todo = clients.filter((c) => c.ws === null);
  const deadline = performance.now() + readyTimeoutMs;
  if (spreadMs !== undefined) {
    const start = performance.now();
    await Promise.all(
      todo.map(async (client, i) => {
        await sleep(Math.max(0, start + (i * spreadMs) / todo.length - performance.now()));
        await open(client, resume, deadline);
      }),
    );
  } else {
    let next = 0;
    const lane = async () => {
      while (next < todo.length && performance.now() < deadline) await open(todo[next++]!, resume, deadline);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, lane));
  }
  const ready = todo.filter((c) => c.readyAt !== null);
  const failed: Record<string, number> = {};
  for (const c of todo) if (c.readyAt === null) bump(failed, c.closeCode !== null ? `close ${c.closeCode}${c.error ? ` (${c.error})` : ''}` : (c.error ?? (c.startedAt ? 'no ready in time' : 'not started')));
  const readyMs = ready.map((c) => c.readyAt! - c.startedAt);
  const first = Math.min(...todo.map((c) => c.startedAt));
  const last = Math.max(...ready.map((c) => c.readyAt!));
  return {
    attempted: todo.length,
    ready: ready.length,
    failed,
    deflate: todo.filter((c) => c.ws?.extensions.includes('permessage-deflate')).length,
    spanMs: ready.length ? last - first : NaN,
    readyP50Ms: quantile(readyMs, 0.5),
    readyP99Ms: quantile(readyMs, 0.99),
    readyMaxMs: ready.length ? Math.max(...readyMs) : NaN,
  };
}

async function closeAll({ timeoutMs }: Ops['closeAll']['args']): Promise<Ops['closeAll']['result']> {
  const open = clients.filter((c) => c.ws !== null);
  const closes = open.map(
    (c) =>
      new Promise<void>((resolve) => {
        const ws = c.ws!;
        c.closing = true;
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000);
      }),
  );
  await Promise.race([Promise.all(closes), sleep(timeoutMs)]);
  let forced = 0;
  for (const c of open) {
    if (c.ws !== null) {
      forced++;
      c.ws.terminate();
      c.ws = null;
    }
  }
  return { closed: open.length - forced, forced };
}

interface Answer {
  status: number | null;
  body: string;
  at: number;
  error: string | null;
}

/** A JSON POST over the keep-alive agent; never rejects, times out after REQUEST_TIMEOUT_MS. */
function post(path: string, token: string, json: unknown): Promise<Answer> {
  const body = Buffer.from(JSON.stringify(json));
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number | null, text: string, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ status, body: text, at: performance.now(), error });
    };
    const req = request(baseUrl + path, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-auth-token': token } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(res.statusCode ?? null, Buffer.concat(chunks).toString('utf8'), null));
      res.on('error', (error: NodeJS.ErrnoException) => done(null, '', error.code ?? error.message));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => done(null, '', error.code ?? error.message));
    req.end(body);
  });
}

const idOf = (answer: Answer): number | null => {
  try {
    const id = (JSON.parse(answer.body) as { id?: unknown }).id;
    return typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
};

async function fixedRate({ senders, rate, seconds, text, drainMs, maxInFlight }: Ops['fixedRate']['args']): Promise<FixedRateResult> {
  const planned = Math.round(rate * seconds);
  const created: { id: number; user: number; sentAt: number; at: number }[] = [];
  const sendMs: number[] = [];
  const errors: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let started = 0;
  let heldBack = 0;
  let lastAnswer = 0;
  arrivals = new Map();
  const issue = (i: number) => {
    const user = i % users.length;
    const sentAt = performance.now();
    const p = post('/api/messages/send/', senders[i % senders.length]!, { recipient: users[user]!.name, message: text }).then((answer) => {
      lastAnswer = answer.at;
      const id = answer.status === 201 ? idOf(answer) : null;
      if (id === null) bump(errors, answer.error ?? String(answer.status));
      else {
        created.push({ id, user, sentAt, at: answer.at });
        sendMs.push(answer.at - sentAt);
      }
      pending.delete(p);
    });
    pending.add(p);
  };
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(planned, Math.floor(((now - start) * rate) / 1000) + 1);
      while (started < due) {
        if (pending.size >= maxInFlight) {
          heldBack++;
          break;
        }
        issue(started++);
      }
      // Bounded: a server that cannot keep up ends the run at the planned time plus 5 s.
      if (started >= planned || now - start > seconds * 1000 + 5_000) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  while (pending.size > 0) await Promise.race(pending);
  const drainUntil = performance.now() + drainMs;
  while (performance.now() < drainUntil && created.some((c) => !arrivals!.has(c.id))) await sleep(20);
  const got = arrivals;
  arrivals = null;

  const latencies: number[] = [];
  const leads: number[] = [];
  const endToEnd: number[] = [];
  let delivered = 0;
  let lost = 0;
  let misrouted = 0;
  let beforeAnswer = 0;
  const createdIds = new Set<number>();
  for (const c of created) {
    createdIds.add(c.id);
    const arrival = got.get(c.id);
    if (!arrival) lost++;
    else if (arrival.user !== c.user || !arrival.inbox) misrouted++;
    else {
      delivered++;
      if (arrival.at < c.at) {
        beforeAnswer++;
        leads.push(c.at - arrival.at);
      }
      latencies.push(Math.max(0, arrival.at - c.at));
      endToEnd.push(arrival.at - c.sentAt);
    }
  }
  for (const id of got.keys()) if (!createdIds.has(id)) misrouted++;
  return {
    planned,
    started,
    created: created.length,
    errors,
    achievedRps: created.length / ((lastAnswer - start) / 1000),
    heldBack,
    sendP50Ms: quantile(sendMs, 0.5),
    sendP99Ms: quantile(sendMs, 0.99),
    delivered,
    lost,
    misrouted,
    duplicates: clients.reduce((n, c) => n + c.duplicates, 0),
    outOfOrder: clients.reduce((n, c) => n + c.outOfOrder, 0),
    beforeAnswer,
    leadP50Ms: quantile(leads, 0.5),
    leadP99Ms: quantile(leads, 0.99),
    endToEndP50Ms: quantile(endToEnd, 0.5),
    endToEndP99Ms: quantile(endToEnd, 0.99),
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP90Ms: quantile(latencies, 0.9),
    latencyP99Ms: quantile(latencies, 0.99),
    latencyMaxMs: latencies.length ? Math.max(...latencies) : NaN,
  };
}

async function backlog({ senders, perUser, concurrency, text, awaitLiveMs }: Ops['backlog']['args']): Promise<BacklogResult> {
  const start = performance.now();
  const errors: Record<string, number> = {};
  const sent: number[][] = users.map(() => []);
  const total = users.length * perUser;
  let next = 0;
  let created = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      const user = i % users.length;
      const answer = await post('/api/messages/send/', senders[i % senders.length]!, { recipient: users[user]!.name, message: text });
      const id = answer.status === 201 ? idOf(answer) : null;
      if (id === null) bump(errors, answer.error ?? String(answer.status));
      else {
        sent[user]!.push(id);
        created++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  const ms = performance.now() - start;
  expected = sent.map((ids) => ids.sort((a, b) => a - b));
  if (awaitLiveMs === undefined) return { created, errors, ms };
  const open = clients.filter((c) => c.ws !== null && c.readyAt !== null);
  const missingOf = (c: Client) => expected[c.user]!.filter((id) => !c.seen.has(id)).length;
  const until = performance.now() + awaitLiveMs;
  while (performance.now() < until && open.some((c) => missingOf(c) > 0)) await sleep(50);
  const missing = open.map(missingOf);
  return { created, errors, ms, liveComplete: missing.filter((n) => n === 0).length, liveMissing: missing.reduce((a, b) => a + b, 0) };
}

function verifyCatchUp(): CatchUpResult {
  const out: CatchUpResult = { clients: clients.length, exact: 0, missing: 0, duplicates: 0, unexpected: 0, outOfOrder: 0, readyBelowDelivered: 0, notReady: 0, liveAfterReady: 0 };
  for (const c of clients) {
    const want = new Set(expected[c.user] ?? []);
    const got = new Set(c.catchUp);
    const missing = [...want].filter((id) => !got.has(id)).length;
    const unexpected = [...got].filter((id) => !want.has(id)).length;
    const duplicates = c.catchUp.length - got.size;
    const outOfOrder = c.catchUp.filter((id, i) => i > 0 && id <= c.catchUp[i - 1]!).length;
    const below = c.readyLastId !== null && c.catchUp.some((id) => id > c.readyLastId!);
    if (c.readyAt === null) out.notReady++;
    out.missing += missing;
    out.unexpected += unexpected;
    out.duplicates += duplicates;
    out.outOfOrder += outOfOrder;
    out.liveAfterReady += c.live;
    if (below) out.readyBelowDelivered++;
    if (c.readyAt !== null && missing === 0 && unexpected === 0 && duplicates === 0) out.exact++;
  }
  return out;
}

const handlers: { [K in Op]: (args: Ops[K]['args']) => Ops[K]['result'] | Promise<Ops[K]['result']> } = {
  init: ({ url, users: list, perUser }) => {
    const { hostname } = new URL(url);
    if (hostname !== '127.0.0.1') throw new Error(`the generator only talks to 127.0.0.1, not ${hostname}`);
    baseUrl = url;
    users = list;
    clients = [];
    for (let i = 0; i < users.length * perUser; i++) clients.push(new Client(i, i % users.length));
    return { clients: clients.length };
  },
  connect,
  closeAll,
  status: () => ({
    open: clients.filter((c) => c.ws?.readyState === WebSocket.OPEN).length,
    serverClosed: { ...serverClosed, ...(unparsable ? { 'unparsable frames': unparsable } : {}) },
    duplicates: duplicateEvents,
  }),
  eventCount: () => ({ events }),
  fixedRate,
  backlog,
  verifyCatchUp,
};

function shutdown(code: number): never {
  for (const c of clients) c.ws?.terminate();
  agent.destroy();
  process.exit(code);
}

setTimeout(() => {
  process.stderr.write('[realtime-worker] 30 minutes passed: exiting\n');
  shutdown(2);
}, HARD_STOP_MS).unref();

createInterface({ input: process.stdin })
  .on('line', async (line) => {
    const { id, op, args } = JSON.parse(line) as { id: number; op: Op; args: never };
    try {
      const result = await handlers[op](args);
      process.stdout.write(JSON.stringify({ id, result }) + '\n');
    } catch (error) {
      process.stdout.write(JSON.stringify({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }) + '\n');
    }
  })
  .on('close', () => shutdown(0));
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
