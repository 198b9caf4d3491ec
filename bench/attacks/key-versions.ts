/**
 * Attack 5, many key versions: an account rotated to 50 key versions (10
 * with --quick; server-made keys) changes its password, which re-seals
 * every version, while another user logs in one request at a time, about
 * every 100 ms. Measures that user's login latency idle and during the
 * change, and how long the change takes. Goal: login p99 during ≤ 2× idle.
 */
import { register, uncommonPassword, type BenchUser } from '../lib/api.ts';
import { result, type AttackResult, type Goal } from '../lib/attack-report.ts';
import { measureAttack } from '../lib/attack-server.ts';
import { timedPost, type TimedResponse } from '../lib/timed-request.ts';
import { quantile, seconds, sleep, withServer, type AttackOptions } from './common.ts';

const LOGIN_EVERY_MS = 100;
const WARM_UP_LOGINS = 5;
const IDLE_LOGINS = 30;
const MAX_CHANGE_MS = 180_000;
const MAX_RATIO = 2;

/** Rotates `user`'s keys until it has `versions` of them. */
async function rotateTo(url: string, user: BenchUser, password: string, versions: number): Promise<void> {
  for (let version = 2; version <= versions; version++) {
    const res = await timedPost(url, '/api/keys/rotate/', { password }, user.token);
    if (res.status !== 200) throw new Error(`rotate to version ${version}: ${res.status} ${res.error ?? ''}`);
  }
}

/** Logs in one request at a time, starting one every LOGIN_EVERY_MS, until `stop()` says so; the latencies of the 200s. */
async function loginLoop(url: string, username: string, password: string, stop: () => boolean): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  while (!stop()) {
    const started = performance.now();
    const res = await timedPost(url, '/api/auth/login/', { username, password });
    if (res.status === 200) ms.push(res.ms);
    else failed++;
    await sleep(Math.max(0, started + LOGIN_EVERY_MS - performance.now()));
  }
  return { ms, failed };
}

function ratioGoal(idle: number[], during: number[]): Goal {
  const idleP99 = quantile(idle, 0.99);
  const duringP99 = quantile(during, 0.99);
  const ratio = duringP99 / idleP99;
  return {
    what: 'login p99 during the password change',
    target: `≤ ${MAX_RATIO}× idle`,
    measured: `${duringP99.toFixed(0)} vs ${idleP99.toFixed(0)} ms idle = ${ratio.toFixed(2)}×`,
    met: Number.isFinite(ratio) ? ratio <= MAX_RATIO : null,
  };
}

export async function keyVersions(options: AttackOptions): Promise<AttackResult[]> {
  const versions = options.quick ? 10 : 50;
  return withServer({}, async (server) => {
    const [ownerPassword, otherPassword] = [uncommonPassword(), uncommonPassword()];
    const owner = await register(server.url, 'keyowner', ownerPassword);
    await register(server.url, 'bystander', otherPassword);
    options.log(`key versions: rotating to ${versions} versions`);
    await rotateTo(server.url, owner, ownerPassword, versions);

    await sleep(2_000); // let the rotations' last work settle before measuring idle logins
    let warmUp = 0;
    await loginLoop(server.url, 'bystander', otherPassword, () => warmUp++ >= WARM_UP_LOGINS);
    let loginsIdle = 0;
    const idle = await loginLoop(server.url, 'bystander', otherPassword, () => loginsIdle++ >= IDLE_LOGINS);
    options.log(`key versions: password change over ${versions} versions while another user logs in`);
    const measured = await measureAttack(server, async () => {
      let change: TimedResponse | null = null;
      const deadline = performance.now() + MAX_CHANGE_MS;
      const changing = timedPost(server.url, '/api/auth/password/', { old_password: ownerPassword, new_password: uncommonPassword() }, owner.token).then((res) => (change = res));
      const during = await loginLoop(server.url, 'bystander', otherPassword, () => change !== null || performance.now() > deadline);
      return { during, change: (change as TimedResponse | null) ?? (await changing) };
    });
    const { during, change } = measured.value;
    const p = (list: number[]) => `p50 ${quantile(list, 0.5).toFixed(0)} / p99 ${quantile(list, 0.99).toFixed(0)} ms`;
    const outcome = [
      `password change over ${versions} versions: ${change.status ?? change.error} in ${seconds(change.ms)}`,
      `logins idle ${p(idle.ms)} (${idle.ms.length}), during ${p(during.ms)} (${during.ms.length}${during.failed ? `, ${during.failed} failed` : ''})`,
      `p50 ratio ${(quantile(during.ms, 0.5) / quantile(idle.ms, 0.5)).toFixed(2)}×`,
    ].join('; ');
    return [result(`password change, ${versions} key versions`, measured, [ratioGoal(idle.ms, during.ms)], outcome)];
  });
}
