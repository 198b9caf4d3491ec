/**
 * Every realtime connection of this process, WebSocket and SSE alike: the
 * per-user cap, one heartbeat timer for all of them (pings, SSE comments,
 * dead peers, session re-checks), and shutdown with 1001.
 *
 * @example
 * const hub = new ConnectionHub({ maxConnectionsPerUser: 20, heartbeatMs: 15_000, shutdownGraceMs: 2_000 });
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

export class ConnectionHub {
  readonly #options: HubOptions;
  readonly #all = new Set<HubConnection>();
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

  /** A user's authenticated connections. */
  count(userId: number): number {
    return this.#byUser.get(userId)?.size ?? 0;
  }

  /** Tracks a new connection; false once the server is shutting down. */
  add(connection: HubConnection): boolean {
    if (this.#closing) return false;
    this.#all.add(connection);
    this.#timer ??= setInterval(() => this.#beat(), this.#options.heartbeatMs).unref();
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
    const now = Date.now();
    for (const connection of this.#all) connection.heartbeat(now);
  }
}
