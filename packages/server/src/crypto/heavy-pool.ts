/**
 * CPU-heavy cryptography (RSA key generation, PBKDF2, Argon2) runs on a small
 * pool of worker threads, never on the event loop. Three rules keep it from
 * slowing everyone else's requests down:
 *
 * - one general thread per core, plus one thread only for short
 *   interactive work (Argon2: logins); further operations queue
 *   (heavy-queue.ts says in which order: a login never waits behind a
 *   password change's PBKDF2 batch, and bulk work is shared out between
 *   requests in turn);
 * - every thread runs below the event loop's scheduling priority (on Linux):
 *   general threads at nice 19, the interactive one at nice 10, so when a
 *   core is contended the event loop wins it, and a login beats bulk work.
 *   That is what lets the general threads take every core: at nice 19 a
 *   thread gets ~1.5 % of a core the event loop wants (CFS weights 15 vs
 *   1024), so a registration storm uses what requests leave and no more.
 *   With `cores - 1` threads registrations used half of a 2-core machine
 *   while it was otherwise idle (bench/RESULTS.md: "register").
 *   Libuv's shared thread pool could not do this: its threads also serve
 *   file I/O and DNS;
 * - the operations of one request that may be many (a password change
 *   re-sealing every key version) pass one `flow` object, so they take one
 *   turn at a time among other requests' work.
 *
 * A registration or login under load therefore waits longer, by design,
 * while sends and reads keep their latency.
 *
 * @example
 * const pair = await runHeavy('rsaKeyPair', { modulusLength: 2048 });
 */
import { availableParallelism, constants } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HeavyQueue, type Lane, type ThreadKind } from './heavy-queue.ts';

export interface HeavyOperations {
  rsaKeyPair: { args: { modulusLength: number }; result: { publicKey: string; privateKey: string } };
  pbkdf2: { args: { password: Buffer; salt: Buffer; iterations: number; keyLength: number }; result: Uint8Array };
  argon2Hash: { args: { password: string; options: object }; result: string };
  argon2Verify: { args: { hash: string; password: string }; result: boolean };
}

type Operation = keyof HeavyOperations;

const LANES: Record<Operation, Lane> = { rsaKeyPair: 'bulk', pbkdf2: 'bulk', argon2Hash: 'interactive', argon2Verify: 'interactive' };

interface Task {
  id: number;
  op: Operation;
  args: unknown;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

interface Thread {
  worker: Worker;
  kind: ThreadKind;
  task?: Task;
}

const WORKER_URL = new URL('./heavy-worker.mjs', import.meta.url);
const THREADS: Record<ThreadKind, number> = { general: availableParallelism(), interactive: 1 };
const NICE: Record<ThreadKind, number> = { general: constants.priority.PRIORITY_LOW, interactive: 10 };
const queue = new HeavyQueue<Task>();
const idle: Record<ThreadKind, Thread[]> = { general: [], interactive: [] };
const started: Record<ThreadKind, number> = { general: 0, interactive: 0 };
const running: Record<Lane, number> = { interactive: 0, bulk: 0 };
const finished: Record<Lane, number> = { interactive: 0, bulk: 0 };
let nextId = 1;

/** `flow`: an object shared by the many operations of one request, which then take turns with other requests' work. */
export function runHeavy<K extends Operation>(op: K, args: HeavyOperations[K]['args'], flow?: object): Promise<HeavyOperations[K]['result']> {
  return new Promise((resolve, reject) => {
    const task: Task = { id: nextId++, op, args, resolve: resolve as Task['resolve'], reject };
    queue.push(task, LANES[op], flow ?? task);
    dispatch();
  });
}

/** Tasks waiting, running, and finished since the process started, by lane (tests and diagnostics). */
export function heavyPoolLoad(): Record<'waiting' | 'running' | 'finished', Record<Lane, number>> {
  return { waiting: queue.waiting, running: { ...running }, finished: { ...finished } };
}

function dispatch(): void {
  // Interactive threads first, so general ones keep to bulk work when they can.
  for (const kind of ['interactive', 'general'] as const) {
    while (queue.hasWorkFor(kind)) {
      const thread = idle[kind].pop() ?? (started[kind] < THREADS[kind] ? startThread(kind) : undefined);
      if (!thread) break;
      const task = queue.take(kind)!;
      thread.task = task;
      running[LANES[task.op]] += 1;
      thread.worker.ref();
      thread.worker.postMessage({ id: task.id, op: task.op, args: task.args });
    }
  }
}

function startThread(kind: ThreadKind): Thread {
  started[kind] += 1;
  const thread: Thread = { worker: new Worker(WORKER_URL, { workerData: { nice: NICE[kind] } }), kind };
  thread.worker.on('message', ({ result, error }: Reply) => {
    const task = finish(thread);
    idle[kind].push(thread);
    thread.worker.unref(); // an idle pool thread must not keep the process alive
    if (error !== undefined) task?.reject(new Error(error));
    else task?.resolve(result);
    dispatch();
  });
  thread.worker.on('error', (error) => retire(thread, error));
  thread.worker.on('exit', (code) => retire(thread, new Error(`heavy-crypto thread exited with code ${code}`)));
  return thread;
}

function finish(thread: Thread): Task | undefined {
  const task = thread.task;
  thread.task = undefined;
  if (task) {
    running[LANES[task.op]] -= 1;
    finished[LANES[task.op]] += 1;
  }
  return task;
}

/** A thread that died fails its current task; a new thread takes its place on demand. */
function retire(thread: Thread, error: Error): void {
  const list = idle[thread.kind];
  const index = list.indexOf(thread);
  if (index >= 0) list.splice(index, 1);
  else if (!thread.task) return; // already retired
  started[thread.kind] -= 1;
  finish(thread)?.reject(error);
  dispatch();
}
