// Paired repetitions on real namespaces (root): HelperBackend.reseed(s) restarts the loss
// decisions of both directions so that the k-th packet meets the same decision whatever
// came before, at whatever pace it is sent. The probe's lost sequence numbers are the
// user-visible decision sequence (each probe is one uplink packet; its reply, one
// downlink packet).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meanBurst } from '../probe.ts';
import { parseProfile } from '../profile.ts';
import { createTopology } from '../topology.ts';
import { HelperBackend, helperAvailable } from './helper.ts';
import { lossProbe, sockDrops, warm, withHelper, type Env } from './helper-testkit.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** reseed(seed), check the packet index restarted, send `count` probes; returns the lost seqs
 *  and how many uplink packets the helper counted since the reseed. */
async function pairedRun({ topo, backend }: Env, seed: number, count: number, intervalMs: number) {
  const rs = await backend.reseed(seed);
  assert.equal(rs.exact, true, rs.note);
  const s0 = await backend.stats();
  assert.equal(s0.uplink.sinceReseed, 0, 'uplink index restarts at 0');
  assert.equal(s0.downlink.sinceReseed, 0, 'downlink index restarts at 0');
  const sock0 = await sockDrops(topo);
  const r = await lossProbe(topo, count, intervalMs);
  const s1 = await backend.stats();
  const socket = (await sockDrops(topo)) - sock0;
  const upLost = s1.uplink.drops.loss - s0.uplink.drops.loss;
  assert.equal(s1.uplink.sinceReseed, count, 'one uplink decision per probe');
  const down = s1.downlink.sinceReseed!;
  assert.ok(down <= count - upLost && down >= count - upLost - socket, `downlink saw ${down} replies for ${count - upLost} delivered probes`);
  return { lost: r.lostSeqs, socket };
}

describe('helper backend: reseed pairs the loss decisions', { timeout: 180_000 }, async () => {
  const avail = await helperAvailable();
  const skip = avail.ok ? false : `helper unavailable: ${avail.reason}`;

  it('random loss both ways (+ jitter): same seed, same lost probes at any pace; another seed, others', { skip, timeout: 60_000 }, async () => {
    await withHelper({ seed: 3 }, async (env) => {
      await warm(env.topo);
      await env.backend.update(parseProfile({ delay_ms: 5, jitter_ms: 2, loss_pct: 10, seed: 3 }));
      const a = await pairedRun(env, 11, 500, 2);
      const b = await pairedRun(env, 11, 500, 0.7); // other pacing: timing must not matter
      const c = await pairedRun(env, 12, 500, 2);
      // 10% each way: 19% of round trips expected, 95 of 500
      assert.ok(a.lost.length >= 50 && a.lost.length <= 150, `${a.lost.length} of 500 lost`);
      assert.deepEqual(b.lost, a.lost, `same seed, different lost probes (socket drops: ${a.socket}, ${b.socket})`);
      assert.notDeepEqual(c.lost, a.lost, 'another seed gave the same lost probes');
    });
  });

  it('Gilbert-Elliott: reseed also resets the chain to the good state', { skip, timeout: 60_000 }, async () => {
    const ge = (p: number, r: number) => parseProfile({ uplink: { loss_ge: { p, r, one_minus_h: 1, one_minus_k: 0 } }, seed: 5 });
    await withHelper({ seed: 5 }, async (env) => {
      await warm(env.topo);
      await env.backend.update(ge(0.05, 0.3));
      const a = await pairedRun(env, 21, 1000, 1);
      // Drive the chain into the bad state and leave it there: with p = 1 the first packet
      // moves good -> bad (and is lost with the good state's 1-k = 0), then r = 0 keeps it bad.
      // Same profile seed and loss kind, so update() itself neither reseeds nor resets.
      await env.backend.update(ge(1, 0));
      const bad = await lossProbe(env.topo, 10, 5);
      assert.deepEqual(bad.lostSeqs, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'chain did not enter the bad state');
      await env.backend.update(ge(0.05, 0.3));
      const b = await pairedRun(env, 21, 1000, 1);
      const c = await pairedRun(env, 22, 1000, 1);
      assert.ok(meanBurst(a.lost) > 1.5, `mean burst ${meanBurst(a.lost)}: not GE-like`);
      assert.ok(a.lost.length >= 50, `${a.lost.length} of 1000 lost, stationary 14%`);
      assert.deepEqual(b.lost, a.lost, `same seed, different lost probes (socket drops: ${a.socket}, ${b.socket})`);
      assert.notDeepEqual(c.lost, a.lost, 'another seed gave the same lost probes');
    });
  });

  it('packets dropped by an outage still take their decision: later indices are unchanged', { skip, timeout: 60_000 }, async () => {
    await withHelper({ seed: 7 }, async (env) => {
      const { topo, backend } = env;
      await warm(topo);
      await backend.update(parseProfile({ uplink: { loss_pct: 10 }, seed: 7 }));
      const a = await pairedRun(env, 31, 400, 2);
      const OUTAGE = 20;
      assert.equal((await backend.reseed(31)).exact, true);
      await backend.setBlackhole('uplink', true);
      const dark = await lossProbe(topo, OUTAGE, 5);
      await backend.setBlackhole('uplink', false);
      assert.equal(dark.lostSeqs.length, OUTAGE);
      assert.equal((await backend.stats()).uplink.sinceReseed, OUTAGE);
      const b = await lossProbe(topo, 400 - OUTAGE, 2); // its seq j is packet index OUTAGE + j
      const expected = a.lost.filter((k) => k >= OUTAGE).map((k) => k - OUTAGE);
      assert.ok(expected.length >= 15, `${expected.length} losses to compare`);
      assert.deepEqual(b.lostSeqs, expected);
    });
  });

  it('leaves queued packets alone: nothing held is dropped, delayed out of order or lost', { skip, timeout: 60_000 }, async () => {
    await withHelper({ delay_ms: 150, seed: 1 }, async ({ topo, backend }) => {
      await warm(topo);
      const s0 = await backend.stats();
      const sock0 = await sockDrops(topo);
      const running = lossProbe(topo, 300, 2); // 600 ms of sending into a 300 ms round trip
      const RESEEDS = 6;
      for (let i = 0; i < RESEEDS; i++) {
        await sleep(100);
        assert.equal((await backend.reseed(100 + i)).exact, true);
      }
      const r = await running;
      const raw = await backend.rawStats();
      const socket = (await sockDrops(topo)) - sock0;
      assert.ok(r.lostSeqs.length <= socket, `${r.lostSeqs.length} probes lost (socket drops ${socket})`);
      assert.equal(r.reordered, 0);
      assert.equal(raw.uplink.packets - s0.uplink.packets, 300);
      assert.equal(raw.uplink.delivered - s0.uplink.delivered, 300, 'every request released');
      assert.equal(raw.uplink.held + raw.downlink.held, 0);
      assert.equal(raw.uplink.drops.loss + raw.downlink.drops.loss + raw.uplink.drops.queue + raw.downlink.drops.queue, 0);
      assert.equal(raw.uplink.seed, 100 + RESEEDS - 1);
    });
  });

  it('rejects a bad seed without touching the helper, and any seed after teardown', { skip, timeout: 30_000 }, async () => {
    const topo = await createTopology();
    const backend = new HelperBackend(topo);
    try {
      await backend.apply(parseProfile({ seed: 4 }));
      await assert.rejects(backend.reseed(-1), RangeError);
      await assert.rejects(backend.reseed(2 ** 31), RangeError);
      assert.equal((await backend.rawStats()).downlink.seed, 4, 'a rejected reseed changed nothing');
      await backend.teardown();
      await assert.rejects(backend.reseed(1), /torn down/);
    } finally {
      await backend.teardown();
      await topo.destroy();
    }
  });
});
