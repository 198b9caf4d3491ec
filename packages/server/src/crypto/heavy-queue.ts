/**
 * The order in which the heavy-crypto pool (heavy-pool.ts) runs its work.
 *
 * Two lanes. Interactive work (an Argon2 hash or verify, ~20 ms: a login, a
 * registration) has a thread of its own and is never queued behind bulk
 * work (RSA key generation, PBKDF2 at ~110 ms a round: one password change
 * re-seals every key version, two PBKDF2 runs each). General threads take
 * bulk work first, so neither lane can starve the other, and help with
 * interactive work when there is no bulk work.
 *
 * Within the bulk lane, flows take turns: each task belongs to a flow (a
 * password change passes one object for all its jobs; a lone task is a flow
 * of its own), and the flow at the head gives one task, then goes to the
 * back. A 100-job password change thus delays another user's registration
 * by one job, not by a hundred.
 */
export type Lane = 'interactive' | 'bulk';
export type ThreadKind = 'interactive' | 'general';

export class HeavyQueue<T> {
  readonly #interactive: T[] = [];
  /** In turn order: a Map iterates in insertion order, and re-inserting moves a flow to the back. */
  readonly #flows = new Map<object, T[]>();
  #bulk = 0;

  push(task: T, lane: Lane, flow: object): void {
    if (lane === 'interactive') {
      this.#interactive.push(task);
      return;
    }
    const tasks = this.#flows.get(flow);
    if (tasks) tasks.push(task);
    else this.#flows.set(flow, [task]);
    this.#bulk += 1;
  }

  /** Whether a thread of this kind would find work. */
  hasWorkFor(kind: ThreadKind): boolean {
    return this.#interactive.length > 0 || (kind === 'general' && this.#bulk > 0);
  }

  /** The next task for a thread of this kind, or undefined. */
  take(kind: ThreadKind): T | undefined {
    if (kind === 'general' && this.#bulk > 0) return this.#takeBulk();
    return this.#interactive.shift();
  }

  get waiting(): Record<Lane, number> {
    return { interactive: this.#interactive.length, bulk: this.#bulk };
  }

  #takeBulk(): T {
    const [flow, tasks] = this.#flows.entries().next().value!;
    const task = tasks.shift()!;
    this.#flows.delete(flow);
    if (tasks.length > 0) this.#flows.set(flow, tasks);
    this.#bulk -= 1;
    return task;
  }
}
