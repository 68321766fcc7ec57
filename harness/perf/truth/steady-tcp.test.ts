// The T4 apparatus on real namespaces (root): a lossless transfer never leaves slow start,
// so its window is reported as not steady; with 2% loss on the data direction the window
// is steady, the segment loss the helper counted is near 2%, no ACK is lost, and the
// congestion-signal rate is not above the segment loss rate (one halving per window;
// 1.3x slack for a loss just before the window whose recovery falls inside it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SteadyTcpBench } from './steady-tcp.ts';

test('steady TCP: slow start is excluded; p is measured on data segments only', { timeout: 120_000 }, async () => {
  const bench = await SteadyTcpBench.open('helper');
  try {
    const clean = await bench.transfer({ cc: 'reno', lossPct: 0, delayMs: 5, seed: 1, warmupS: 1, measureS: 1 });
    assert.equal(clean.steady, false, 'no loss: ssthresh stays infinite, the window is not steady state');
    assert.equal(clean.downlinkLossDrops, 0);

    const s0 = await bench.backend.stats();
    const lossy = await bench.transfer({ cc: 'reno', lossPct: 2, delayMs: 25, seed: 7, warmupS: 2, measureS: 6 });
    const s1 = await bench.backend.stats();
    assert.equal(lossy.cc, 'reno');
    assert.equal(lossy.steady, true);
    assert.ok(lossy.downlinkPackets > 300, `packets in the window: ${lossy.downlinkPackets}`);
    assert.ok(lossy.pPkt > 0.005 && lossy.pPkt < 0.06, `segment loss ${lossy.pPkt}`);
    assert.ok(lossy.pEvt > 0 && lossy.pEvt <= lossy.pPkt * 1.3, `signals ${lossy.pEvt} vs segment loss ${lossy.pPkt}`);
    assert.equal(s1.uplink.drops.loss - s0.uplink.drops.loss, 0, 'ACKs (uplink) are never dropped');
    assert.ok(lossy.srttMs > 45 && lossy.srttMs < 80, `srtt ${lossy.srttMs} ms at 2x25 ms`);
    assert.ok(lossy.rtoMs >= 200, `Linux RTO has a 200 ms floor: ${lossy.rtoMs}`);
    assert.ok(lossy.goodputBps > 0 && lossy.sendBps >= lossy.goodputBps * 0.95);
  } finally {
    await bench.close();
  }
});
