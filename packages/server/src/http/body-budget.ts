/**
 * Memory for large request bodies is a budget, so that the server's memory
 * no longer grows with what clients send at once. A body over
 * SMALL_BODY_BYTES reserves its size (announced, or the route's limit when
 * none is announced) before a byte of it is read, and gives it back when its
 * response is finished or its connection closes: encrypting and storing an
 * attachment holds copies of it until then. When the budget is spent, the
 * request is answered 503 with `Retry-After` at once, without reading the
 * body. A body larger than the whole budget takes all of it, so any legal
 * attachment can be sent when no other large body is in flight.
 *
 * Only routes that take large bodies (send, password change) get past the
 * 64 KiB default limit, and both require a valid token, checked before this.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.ts';

/** The body limit of every route but the few that need more (app.ts). */
export const SMALL_BODY_BYTES = 64 * 1024;
const RETRY_AFTER_SECONDS = 2;

export class ServerBusy extends AppError {
  readonly retryAfterSeconds = RETRY_AFTER_SECONDS;
  constructor() {
    super(503, `The server is receiving as many large uploads as it can hold; try again in ${RETRY_AFTER_SECONDS} seconds.`);
  }
}

export class BodyBudget {
  readonly #capacity: number;
  #available: number;

  constructor(capacityBytes: number) {
    this.#capacity = capacityBytes;
    this.#available = capacityBytes;
  }

  get availableBytes(): number {
    return this.#available;
  }

  /** Reserves `bytes` (at most the whole capacity); false when they are not free now. */
  tryReserve(bytes: number): boolean {
    const wanted = Math.min(bytes, this.#capacity);
    if (wanted > this.#available) return false;
    this.#available -= wanted;
    return true;
  }

  release(bytes: number): void {
    this.#available = Math.min(this.#capacity, this.#available + Math.min(bytes, this.#capacity));
  }
}

/**
 * The preParsing hook of the routes that take large bodies: reserves the
 * body's memory from `budget` before it is read.
 */
export function reserveBodyMemory(budget: BodyBudget) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const limit = request.routeOptions.bodyLimit ?? 0;
    const length = request.headers['content-length'];
    const bytes = length === undefined ? limit : Number(length);
    // Small bodies are bounded by the default limit; a body over the route's limit is refused unread (413, json-body.ts).
    if (!(bytes > SMALL_BODY_BYTES) || bytes > limit) return;
    if (!budget.tryReserve(bytes)) throw new ServerBusy();
    reply.raw.once('close', () => budget.release(bytes));
  };
}
