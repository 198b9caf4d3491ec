/**
 * A request body must keep arriving. Without this, a client that sends the
 * headers and then one byte now and then (or all but the last byte) holds a
 * connection, and the memory of its body, for as long as it likes.
 *
 * A body fails with 408 when no byte has come for BODY_IDLE_MS, or when it
 * is slower overall than MIN_BYTES_PER_SECOND after a grace period (so a
 * 64 KiB body has ~12 s, a 35 MB attachment ~9 minutes). The answer closes
 * the connection (errors.ts), which drops the rest of the body.
 *
 * One timer sweeps every body in flight once a second, instead of a timer
 * per request: bodies are many and almost all arrive at once.
 */
import { AppError } from '../domain/errors.ts';

export const BODY_IDLE_MS = 15_000;
const GRACE_MS = 10_000;
const MIN_BYTES_PER_SECOND = 64 * 1024;
const SWEEP_EVERY_MS = 1_000;

export interface WatchedBody {
  readonly startedAt: number;
  readonly lastChunkAt: number;
  /** The announced length, or the route's limit when none was announced. */
  readonly expectedBytes: number;
  readonly settled: boolean;
  fail(error: Error): void;
}

export class BodyTimeout extends AppError {
  constructor(detail: string) {
    super(408, detail);
  }
}

const inFlight = new Set<WatchedBody>();
let sweeper: NodeJS.Timeout | null = null;

export function watchBody(body: WatchedBody): void {
  inFlight.add(body);
  sweeper ??= setInterval(sweepBodies, SWEEP_EVERY_MS).unref();
}

/** A body that has arrived (or failed) stops being watched. */
export function unwatchBody(body: WatchedBody): void {
  inFlight.delete(body);
}

/** The time a body of `bytes` may take in all. */
export function bodyDeadlineMs(bytes: number): number {
  return GRACE_MS + (bytes / MIN_BYTES_PER_SECOND) * 1000;
}

/** Fails every watched body past its deadline (run by the timer; exported for tests). */
export function sweepBodies(now = Date.now()): void {
  for (const body of inFlight) {
    if (body.settled) {
      inFlight.delete(body);
    } else if (now - body.lastChunkAt > BODY_IDLE_MS) {
      inFlight.delete(body);
      body.fail(new BodyTimeout(`No part of the request body arrived for ${BODY_IDLE_MS / 1000} seconds; send it again.`));
    } else if (now - body.startedAt > bodyDeadlineMs(body.expectedBytes)) {
      inFlight.delete(body);
      body.fail(new BodyTimeout('The request body arrived too slowly; send it again over a faster connection.'));
    }
  }
  if (inFlight.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = null;
  }
}
