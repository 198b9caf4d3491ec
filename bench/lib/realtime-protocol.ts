/**
 * What the realtime scenarios (bench/realtime.ts) ask of the generator
 * process (bench/realtime-worker.ts) and what it answers: one JSON line per
 * call each way, `{ id, op, args }` → `{ id, result }` or `{ id, error }`.
 */

export interface GeneratorUser {
  name: string;
  token: string;
}

export interface Ops {
  /** The server and the clients: `perUser` WebSockets for each user (none opened yet). */
  init: { args: { url: string; users: GeneratorUser[]; perUser: number }; result: { clients: number } };
  /**
   * Opens every client that is not open: at most `concurrency` handshakes in
   * flight, or, with `spreadMs`, client i starting at i × spreadMs / n ms.
   * `resume`: each asks for `after_id` = the largest id it has seen.
   * Resolves once each is ready, closed or past `readyTimeoutMs`.
   */
  connect: { args: { concurrency?: number; spreadMs?: number; resume?: boolean; readyTimeoutMs: number }; result: ConnectResult };
  /** Closes every open client (code 1000) and waits for the closes, at most `timeoutMs`. */
  closeAll: { args: { timeoutMs: number }; result: { closed: number; forced: number } };
  /** Open clients right now, the close codes of those the server closed, and ids received twice on one connection (over all connections so far). */
  status: { args: Record<string, never>; result: { open: number; serverClosed: Record<string, number>; duplicates: number } };
  /** `message` events received by all clients so far (a counter for loads run by another process). */
  eventCount: { args: Record<string, never>; result: { events: number } };
  /**
   * Server-mode text sends at a fixed rate over keep-alive connections, to
   * the users round-robin, from `senders` in turn; then waits up to
   * `drainMs` for the events. Latency: the 201 arriving → the event arriving.
   */
  fixedRate: { args: { senders: string[]; rate: number; seconds: number; text: string; drainMs: number; maxInFlight: number }; result: FixedRateResult };
  /**
   * `perUser` server-mode sends to every user (as fast as `concurrency`
   * requests at once allow) and remembers the ids as what each of that user's
   * clients must receive next; with `awaitLiveMs`, waits that long at most for
   * the open clients to receive them live.
   */
  backlog: { args: { senders: string[]; perUser: number; concurrency: number; text: string; awaitLiveMs?: number }; result: BacklogResult };
  /** Checks each client's catch-up (the ids before its last `ready`) against the ids remembered by `backlog`. */
  verifyCatchUp: { args: Record<string, never>; result: CatchUpResult };
}

export type Op = keyof Ops;

export interface ConnectResult {
  attempted: number;
  ready: number;
  /** close codes (or error names) of clients that never got `ready` */
  failed: Record<string, number>;
  /** clients whose handshake offered permessage-deflate and the server accepted it */
  deflate: number;
  /** first handshake started → last `ready`, ms */
  spanMs: number;
  /** per client, handshake started → `ready`, ms */
  readyP50Ms: number;
  readyP99Ms: number;
  readyMaxMs: number;
}

export interface FixedRateResult {
  planned: number;
  /** requests started (fewer than planned if `maxInFlight` held the loop back until the time was up) */
  started: number;
  created: number;
  /** non-201 answers and request errors, by status or error name */
  errors: Record<string, number>;
  /** 201s per second, first request started → last answer */
  achievedRps: number;
  /** times the loop found `maxInFlight` requests unanswered and had to wait */
  heldBack: number;
  sendP50Ms: number;
  sendP99Ms: number;
  /** 201s whose event arrived (at the right recipient, as `inbox`) */
  delivered: number;
  /** 201s whose event had not arrived `drainMs` after the last answer */
  lost: number;
  /** events for ids no 201 named, at the wrong client, or as `sent` */
  misrouted: number;
  /** events received twice on one connection */
  duplicates: number;
  /** live events with an id below one that connection already had */
  outOfOrder: number;
  /** events that arrived before their 201 (counted as 0 ms) */
  beforeAnswer: number;
  /** how long such an event came before its 201, ms */
  leadP50Ms: number;
  leadP99Ms: number;
  /** the send's request started → the event arrived, ms (what a user sees end to end) */
  endToEndP50Ms: number;
  endToEndP99Ms: number;
  latencyP50Ms: number;
  latencyP90Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
}

export interface BacklogResult {
  created: number;
  errors: Record<string, number>;
  ms: number;
  /** with awaitLiveMs: open clients that received all of them live, and ids missing */
  liveComplete?: number;
  liveMissing?: number;
}

export interface CatchUpResult {
  clients: number;
  /** got `ready`, and before it exactly the expected ids, each once */
  exact: number;
  /** expected ids not received before `ready` (over all clients) */
  missing: number;
  /** ids received twice on one connection */
  duplicates: number;
  /** ids received before `ready` that were not expected */
  unexpected: number;
  /** catch-up ids not in increasing order */
  outOfOrder: number;
  /** `ready.last_id` below an id delivered before it */
  readyBelowDelivered: number;
  /** clients without `ready` */
  notReady: number;
  /** `message` events after `ready` (nothing was sent meanwhile: should be 0) */
  liveAfterReady: number;
}
