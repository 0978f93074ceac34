// The bridge's forwarding passes (bridge.ts BRIDGE_NAPI_WEIGHT): when frames are delivered, in
// which groups, and that the backlog bound still holds.
import { describe, expect, it } from 'vitest';
import { EventQueue, SimClock } from '@tachyxx/core';
import { Bridge, BridgeStats, BridgePortStats, BRIDGE_BACKLOG, BRIDGE_NAPI_WEIGHT, DEFAULT_NET_COSTS, type NetFrame } from '../src/index.js';

/** A bridge on its own clock and event queue. */
function newBridge() {
  const clock = new SimClock(1000);
  const queue = new EventQueue(clock);
  const bridge = new Bridge('xenbr0', { clock, queue }, DEFAULT_NET_COSTS, new BridgeStats(), null);
  return { clock, queue, bridge };
}

/** A unicast frame from MAC 00:16:3e:00:00:<src> to ..:<dst>, `seq` in bytes 14-15. */
function frame(dst: number, src: number, seq: number, len = 60): NetFrame {
  const d = new Uint8Array(len);
  d.set([0, 0x16, 0x3e, 0, 0, dst], 0); d.set([0, 0x16, 0x3e, 0, 0, src], 6);
  d[12] = 0x08; d[14] = seq & 0xff; d[15] = seq >> 8;
  return { data: d, csumBlank: false, validated: false };
}

function setup() {
  const { clock, queue, bridge } = newBridge();
  const got: { t: number; seq: number }[] = [];
  const a = bridge.addPort('vif1.0', () => {}, { stats: new BridgePortStats() });
  bridge.addPort('vif2.0', (f) => got.push({ t: clock.now, seq: f.data[14]! | (f.data[15]! << 8) }), { stats: new BridgePortStats() });
  // unicast frames from vif1.0 (MAC ..:01) to vif2.0 (MAC ..:02); vif2.0 learns its MAC first
  bridge.port('vif2.0')!.send(frame(1, 2, 0xffff));
  queue.runUntil(10_000);
  got.length = 0;
  return { clock, queue, bridge, got, send: (seq: number, len?: number) => a.send(frame(2, 1, seq, len)) };
}

const frameNs = (len: number) => DEFAULT_NET_COSTS.frameNs + (len / 1024) * DEFAULT_NET_COSTS.perKiBNs;

describe('bridge forwarding passes', () => {
  it('a lone frame crosses in its own cost', () => {
    const { queue, got, send } = setup();
    send(1);
    queue.runUntil(1_000_000);
    expect(got).toEqual([{ t: 10_000 + Math.ceil(frameNs(60)), seq: 1 }]);
  });

  it('a burst crosses in one pass, delivered together when the summed cost has passed; frames that come during a pass wait for the next', () => {
    const { clock, queue, bridge, got, send } = setup();
    for (let i = 0; i < 32; i++) send(i);
    queue.runUntil(10_500); // mid-pass
    send(100);
    expect(got).toEqual([]);
    queue.runUntil(1_000_000);
    const end1 = 10_000 + Math.ceil(32 * frameNs(60));
    expect(got.slice(0, 32)).toEqual(Array.from({ length: 32 }, (_, i) => ({ t: end1, seq: i })));
    expect(got[32]).toEqual({ t: end1 + Math.ceil(frameNs(60)), seq: 100 });
    expect(bridge.stats.passes.value).toBe(1 + 2); // the learning frame's, the burst's, the late frame's
    expect(bridge.inFlight).toBe(0);
    expect(clock.now).toBe(1_000_000);
  });

  it(`at most ${BRIDGE_NAPI_WEIGHT} frames per pass; the rest go in the following passes, in order, at the same rate`, () => {
    const { queue, got, send } = setup();
    for (let i = 0; i < 150; i++) send(i, 1000);
    queue.runUntil(100_000_000);
    expect(got.map((g) => g.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    const times = [...new Set(got.map((g) => g.t))];
    expect(times.length).toBe(3);
    expect(got.filter((g) => g.t === times[0]).length).toBe(BRIDGE_NAPI_WEIGHT);
    // the passes' costs add up to the frames' costs (the pass ends are rounded up to whole ns)
    expect(times[2]! - 10_000).toBeGreaterThanOrEqual(150 * frameNs(1000));
    expect(times[2]! - 10_000).toBeLessThanOrEqual(150 * frameNs(1000) + 3);
  });

  it(`a sender that outruns the bridge: beyond ${BRIDGE_BACKLOG} frames waiting, frames are dropped and counted, the rest delivered`, () => {
    const { queue, bridge, got, send } = setup();
    for (let i = 0; i < BRIDGE_BACKLOG + 200; i++) send(i & 0xffff);
    expect(bridge.stats.dropBacklog.value).toBe(200);
    queue.runUntil(1e9);
    expect(got.length).toBe(BRIDGE_BACKLOG);
    expect(bridge.inFlight).toBe(0);
  });
});

describe('bridge forwarding passes: ports that go mid-pass', () => {
  it('a port removed while its frames are in a pass: they are dropped (dropNoPort), nothing reaches it afterwards, other ports go on', () => {
    const { queue, bridge } = newBridge();
    const got = new Map<string, number>();
    const port = (name: string) => bridge.addPort(name, () => got.set(name, (got.get(name) ?? 0) + 1), { stats: new BridgePortStats() });
    const a = port('vif1.0'), b = port('vif2.0'), c = port('vif3.0');
    const bcast = (): NetFrame => ({ data: new Uint8Array(60).fill(0xff, 0, 6), csumBlank: false, validated: false });
    a.send(bcast()); b.send(bcast()); c.send(bcast()); // one pass of three broadcasts
    b.detach();
    queue.runUntil(1e6);
    expect(bridge.stats.dropNoPort.value).toBe(1); // b's own frame
    expect(got.get('vif2.0')).toBeUndefined(); // b gets nothing once detached
    expect(got.get('vif1.0')).toBe(1); // c's frame
    expect(got.get('vif3.0')).toBe(1); // a's frame
    expect(bridge.inFlight).toBe(0);
  });
});

describe('bridge forwarding passes: a port that answers at once', () => {
  it('a sink that sends into the same bridge while a pass delivers (an echo): its frame waits for the next pass, nothing throws or is lost', () => {
    const { clock, queue, bridge } = newBridge();
    const atA: { t: number; seq: number }[] = [];
    const a = bridge.addPort('vif1.0', (f) => atA.push({ t: clock.now, seq: f.data[14]! }), { stats: new BridgePortStats() });
    // vif2.0 echoes every frame straight back to vif1.0 from inside the delivery
    const b: ReturnType<Bridge['addPort']> = bridge.addPort('vif2.0', (f) => b.send(frame(1, 2, f.data[14]! + 100)), { stats: new BridgePortStats() });
    b.send(frame(1, 2, 0)); // learn vif2.0 (goes to vif1.0)
    queue.runUntil(5000);
    for (let i = 1; i <= 3; i++) a.send(frame(2, 1, i));
    queue.runUntil(1e6);
    const t0 = 5000 + Math.ceil(3 * (DEFAULT_NET_COSTS.frameNs + (60 / 1024) * DEFAULT_NET_COSTS.perKiBNs));
    // the three echoes were handed over at t0, as the pass delivered: they cross in the next pass
    expect(atA.slice(1).map((x) => x.seq)).toEqual([101, 102, 103]);
    expect(atA[1]!.t).toBe(t0 + Math.ceil(3 * (DEFAULT_NET_COSTS.frameNs + (60 / 1024) * DEFAULT_NET_COSTS.perKiBNs)));
    expect(bridge.inFlight).toBe(0);
  });
});
