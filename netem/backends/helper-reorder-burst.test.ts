// The reorder knob and time-based burst loss on real namespaces (root). Loss decisions are
// seeded, so these runs are repeatable; bounds are still loose (the probe's pacing runs on
// a busy shared machine).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { meanBurst } from '../probe.ts';
import { parseProfile } from '../profile.ts';
import { helperAvailable } from './helper.ts';
import { lossProbe, probeDrops, warm, withHelper } from './helper-testkit.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

describe('helper reorder knob and burst loss on namespaces', { timeout: 150_000 }, async () => {
  const avail = await helperAvailable();
  const skip = avail.ok ? false : `helper unavailable: ${avail.reason}`;

  it('reorders about reorder_pct of packets (and every gap-th with 100 %), losing none', { skip, timeout: 45_000 }, async () => {
    await withHelper({ delay_ms: 10, seed: 4 }, async ({ topo, backend }) => {
      await warm(topo);
      const cases = [
        { pct: 10, gap: undefined, lo: 60, hi: 140, what: '10 % of 1000' },
        { pct: 100, gap: 5, lo: 170, hi: 215, what: 'every 5th of 1000' },
      ];
      for (const c of cases) {
        await backend.update(parseProfile({ delay_ms: 10, uplink: { reorder_pct: c.pct, reorder_gap: c.gap }, seed: 4 }));
        await backend.reseed(4);
        const drops0 = await probeDrops(topo);
        const r = await lossProbe(topo, 1000, 1);
        // a loaded machine can drop at the NFQUEUE or a socket buffer: not the knob's doing
        const outside = (await probeDrops(topo)) - drops0;
        console.log(`reorder_pct ${c.pct} gap ${c.gap ?? 1}: overtook ${r.overtook}, reordered ${r.reordered}, lost ${r.lostSeqs.length} (${outside} outside the helper)`);
        assert.ok((r.overtook ?? -1) >= c.lo && (r.overtook ?? -1) <= c.hi, `${r.overtook} packets overtook others, expected ${c.what} (${c.lo}..${c.hi})`);
        assert.ok(r.lostSeqs.length <= 3 + outside, `${r.lostSeqs.length} lost, ${outside} of them outside the helper`);
      }
      const s = await backend.stats();
      assert.equal(s.uplink.drops.loss + s.uplink.drops.queue, 0);
    });
  });

  it('time-based bursts last about mean_bad_ms at any packet rate; per-packet GE bursts stretch at low rates', { skip, timeout: 90_000 }, async () => {
    await withHelper({ seed: 6 }, async ({ topo, backend }) => {
      await warm(topo);
      const burstMs = async (net: object, count: number, intervalMs: number) => {
        await backend.update(parseProfile({ uplink: net, seed: 6 }));
        await backend.reseed(6);
        const r = await lossProbe(topo, count, intervalMs);
        const pkts = meanBurst(r.lostSeqs);
        return { pkts, ms: pkts * intervalMs, lossPct: (100 * r.lostSeqs.length) / count };
      };
      const timed = { loss_burst: { mean_good_ms: 200, mean_bad_ms: 50 } };
      const fast = await burstMs(timed, 2000, 5);
      const slow = await burstMs(timed, 400, 25);
      // GE with a mean burst of 1/r = 10 packets: 50 ms at 5 ms spacing, 250 ms at 25 ms
      const ge = await burstMs({ loss_ge: { p: 0.04, r: 0.1 } }, 600, 25);
      console.log(JSON.stringify({ fast, slow, ge }));
      // 20 % of the time is bad: the loss rate follows the clock
      for (const x of [fast, slow]) assert.ok(x.lossPct > 10 && x.lossPct < 32, `loss ${x.lossPct.toFixed(1)} %, expected ~20 %`);
      // a burst is ~50 ms in time (a burst shorter than the spacing is missed, and a short
      // good spell between two bursts merges them, so the 25 ms spacing reads a bit longer)
      assert.ok(fast.ms > 25 && fast.ms < 90, `bursts of ${fast.ms.toFixed(1)} ms at 5 ms spacing, configured 50`);
      assert.ok(slow.ms > 25 && slow.ms < 110, `bursts of ${slow.ms.toFixed(1)} ms at 25 ms spacing, configured 50`);
      assert.ok(fast.pkts > 2 * slow.pkts, `time-based bursts hold fewer packets when fewer flow (${fast.pkts.toFixed(1)} vs ${slow.pkts.toFixed(1)})`);
      // the per-packet model's bursts last 1/r packets whatever their spacing
      assert.ok(ge.ms > 150, `GE bursts of ${ge.ms.toFixed(0)} ms (${ge.pkts.toFixed(1)} packets) at 25 ms spacing, expected ~250`);
    });
  });

  it('the helper itself refuses a trace that went bad after validation, naming file and line, and keeps running', { skip, timeout: 30_000 }, async () => {
    const dir = await tempDir('holbench-helper-trace-');
    const file = join(dir, 'later bad.trace'); // a space: the path travels percent-encoded
    await writeFile(file, '1\n2\n3\n');
    const good = parseProfile({ delay_ms: 5, uplink: { trace: file }, seed: 1 });
    await withHelper({ delay_ms: 5, seed: 1 }, async ({ backend }) => {
      await writeFile(file, '1\n2\nthree\n');
      await assert.rejects(backend.update(good), /trace .*later bad\.trace line 3: expected a whole number of milliseconds/);
      await writeFile(file, '1\n2\n3\n');
      await backend.update(good); // loads now, and the helper is alive
      assert.equal((await backend.stats()).backend, 'helper');
    });
  });
});
