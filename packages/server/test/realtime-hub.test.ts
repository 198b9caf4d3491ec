/** The connection hub (realtime/hub.ts): the per-user cap, the spread-out heartbeat, shutdown. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionHub, SLICES, type HubConnection } from '../src/realtime/hub.ts';

function fake(): HubConnection & { beats: number[]; shut: number; destroyed: number; finish(): void } {
  let finish!: () => void;
  const gone = new Promise<void>((resolve) => (finish = resolve));
  return {
    beats: [],
    shut: 0,
    destroyed: 0,
    gone,
    finish,
    heartbeat(now) {
      this.beats.push(now);
    },
    shutdown() {
      this.shut += 1;
    },
    destroy() {
      this.destroyed += 1;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ConnectionHub', () => {
  it('visits every connection once per heartbeat period, one group of them per tick', () => {
    vi.useFakeTimers();
    const period = SLICES * 10;
    const hub = new ConnectionHub({ maxConnectionsPerUser: 20, heartbeatMs: period, shutdownGraceMs: 100 });
    const connections = Array.from({ length: SLICES * 3 }, () => fake());
    for (const c of connections) hub.add(c);
    let mostInOneTick = 0;
    for (let tick = 0; tick < SLICES; tick++) {
      const before = connections.reduce((n, c) => n + c.beats.length, 0);
      vi.advanceTimersByTime(10);
      mostInOneTick = Math.max(mostInOneTick, connections.reduce((n, c) => n + c.beats.length, 0) - before);
    }
    expect(connections.map((c) => c.beats.length)).toEqual(connections.map(() => 1));
    expect(mostInOneTick).toBe(3);
    hub.remove(connections[0]!);
    vi.advanceTimersByTime(period);
    expect(connections[0]!.beats).toHaveLength(1);
    expect(connections.slice(1).every((c) => c.beats.length === 2)).toBe(true);
  });

  it('caps authenticated connections per user and frees the slot on removal', () => {
    const hub = new ConnectionHub({ maxConnectionsPerUser: 2, heartbeatMs: 15_000, shutdownGraceMs: 100 });
    const [a, b, c, d] = [fake(), fake(), fake(), fake()];
    for (const x of [a, b, c, d]) hub.add(x!);
    expect(hub.admit(a!, 1)).toBe(true);
    expect(hub.admit(b!, 1)).toBe(true);
    expect(hub.admit(c!, 1)).toBe(false);
    expect(hub.admit(d!, 2)).toBe(true);
    expect(hub.count(1)).toBe(2);
    hub.remove(a!);
    hub.remove(a!); // idempotent
    expect(hub.count(1)).toBe(1);
    expect(hub.admit(c!, 1)).toBe(true);
    for (const x of [b, c, d]) hub.remove(x!);
    expect(hub.size).toBe(0);
  });

  it('shutdown refuses newcomers, closes everyone, and cuts those still there after the grace', async () => {
    const hub = new ConnectionHub({ maxConnectionsPerUser: 20, heartbeatMs: 15_000, shutdownGraceMs: 50 });
    const polite = fake();
    const stubborn = fake();
    hub.add(polite);
    hub.add(stubborn);
    const done = hub.shutdown();
    expect(hub.add(fake())).toBe(false);
    expect([polite.shut, stubborn.shut]).toEqual([1, 1]);
    hub.remove(polite);
    polite.finish();
    await done;
    expect(polite.destroyed).toBe(0);
    expect(stubborn.destroyed).toBe(1);
  });
});
