export interface LoadSpec {
  kind: 'send' | 'get' | 'register' | 'login';
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
}
