/**
 * Every realtime connection of this process, WebSocket and SSE alike: the
 * per-user cap, one heartbeat timer for all of them (pings, SSE comments,
 * dead peers, session re-checks), and shutdown with 1001.
 *
 * The heartbeat is spread out: connections are dealt into SLICES groups and
 * each tick (every heartbeatMs / SLICES) visits one group, so every
 * connection is visited once per heartbeatMs but 10,000 sockets never cost
 * the event loop one long pause (a ping is a socket write each).
 *
 * @example
 * const hub = new ConnectionHub({ maxConnectionsPerUser: 20, heartbeatMs: 14_000, shutdownGraceMs: 2_000 });
 * if (!hub.add(connection)) connection.shutdown();              // the server is closing
 * if (!hub.admit(connection, userId)) connection.refuse();       // over the cap: 4429 / 429
 */

export interface HubConnection {
  /** Called every heartbeat: ping or comment, drop a dead peer, re-check the session. */
  heartbeat(now: number): void;
  /** Close because the server is stopping (WebSocket 1001). */
  shutdown(): void;
  /** Cut it without further ado (shutdown grace over). */
  destroy(): void;
  /** Resolves once the connection is fully gone. */
  readonly gone: Promise<void>;
}

export interface HubOptions {
  maxConnectionsPerUser: number;
  heartbeatMs: number;
  shutdownGraceMs: number;
}

/**
 * Heartbeat groups: a tick visits one. 56 makes a tick every 250 ms at the
 * 14 s heartbeat: with 10,000 sockets each tick is ~180 pings and session
 * checks, a few milliseconds (15 groups made /healthz p99 double).
 */
export const SLICES = 56;

export class ConnectionHub {
  readonly #options: HubOptions;
  readonly #all = new Set<HubConnection>();
  readonly #slices: Array<Set<HubConnection>> = Array.from({ length: SLICES }, () => new Set());
  readonly #sliceOf = new Map<HubConnection, Set<HubConnection>>();
  #dealt = 0;
  #turn = 0;
  readonly #byUser = new Map<number, Set<HubConnection>>();
  readonly #userOf = new Map<HubConnection, number>();
  #timer: NodeJS.Timeout | null = null;
  #closing = false;

  constructor(options: HubOptions) {
    this.#options = options;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Every connection, authenticated or not. */
  get size(): number {
    return this.#all.size;
  }

  /** Connections not yet admitted to a user (still authenticating). */
  get unauthenticated(): number {
    return this.#all.size - this.#userOf.size;
  }

  /** A user's authenticated connections. */
  count(userId: number): number {
    return this.#byUser.get(userId)?.size ?? 0;
  }

  /** Tracks a new connection; false once the server is shutting down. */
  add(connection: HubConnection): boolean {
    if (this.#closing) return false;
    this.#all.add(connection);
    const slice = this.#slices[this.#dealt++ % SLICES]!;
    slice.add(connection);
    this.#sliceOf.set(connection, slice);
    this.#timer ??= setInterval(() => this.#beat(), Math.max(1, Math.floor(this.#options.heartbeatMs / SLICES))).unref();
    return true;
  }

  /** Counts an authenticated connection against its user's cap; false (and not counted) when the cap is reached. */
  admit(connection: HubConnection, userId: number): boolean {
    let set = this.#byUser.get(userId);
    if ((set?.size ?? 0) >= this.#options.maxConnectionsPerUser) return false;
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(connection);
    this.#userOf.set(connection, userId);
    return true;
  }

  /** Forgets a connection (idempotent). */
  remove(connection: HubConnection): void {
    this.#all.delete(connection);
    this.#sliceOf.get(connection)?.delete(connection);
    this.#sliceOf.delete(connection);
    const userId = this.#userOf.get(connection);
    if (userId !== undefined) {
      this.#userOf.delete(connection);
      const set = this.#byUser.get(userId);
      set?.delete(connection);
      if (set?.size === 0) this.#byUser.delete(userId);
    }
    if (this.#all.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Refuses new connections, closes every open one (1001), waits for them at most shutdownGraceMs, then cuts the rest. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const connections = [...this.#all];
    for (const connection of connections) connection.shutdown();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.shutdownGraceMs).unref()));
    await Promise.race([Promise.all(connections.map((c) => c.gone)), grace]);
    clearTimeout(timer);
    for (const connection of this.#all) connection.destroy();
  }

  #beat(): void {
    const slice = this.#slices[this.#turn]!;
    this.#turn = (this.#turn + 1) % SLICES;
    const now = Date.now();
    for (const connection of slice) connection.heartbeat(now);
  }
}
