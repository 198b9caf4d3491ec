/**
 * End-to-end sends (`kind: 'send-e2e'`, bench/signed-sends.ts): the load
 * worker makes `bodies` distinct bodies before the run (each its own
 * client_id; signed with the sender's signingKey when it has one), so the
 * generator spends no CPU on signing while it measures.
 */
export interface E2eLoad {
  senders: Array<{ token: string; username: string; keyId: number; /** PKCS#8 DER, base64 */ signingKey?: string }>;
  recipients: Array<{ username: string; keyId: number }>;
  bodies: number;
  /** Fixed ciphertext fields (random bytes of the right sizes: the server checks shapes, not contents). */
  ciphertext: { encrypted_symmetric_key: string; sender_encrypted_symmetric_key: string; encrypted_message: string; message_nonce: string };
}

export interface LoadSpec {
  kind: 'send' | 'send-e2e' | 'get' | 'register' | 'login';
  url: string;
  path: string;
  connections: number;
  /** seconds measured */
  duration: number;
  /** seconds of warm-up before measuring */
  warmup: number;
  /** a fixed number of requests instead of `duration` (CPU per request is then exact) */
  amount?: number;
  tokens?: string[];
  /** for `get`: each request asks for a random page, `before_id` among the `span` ids up to `newestId` and `limit` in [minLimit, maxLimit] */
  randomPages?: { newestId: number; span: number; minLimit: number; maxLimit: number };
  recipients?: string[];
  text?: string;
  /** base64 */
  attachment?: string;
  e2e?: E2eLoad;
}

export interface LoadResult {
  rps: number;
  /** mean latency, ms (fractional, unlike the percentiles) */
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  /** requests in the measured period */
  requests: number;
  /** requests including warm-up (for CPU per request) */
  allRequests: number;
  /** send-e2e: requests that had to reuse a body (answered 200 from the stored message, not verified again); 0 when enough were made */
  reusedBodies?: number;
}
