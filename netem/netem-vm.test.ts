// The real tc-netem backend, exercised inside a qemu VM (TCG) that boots Debian's stock
// kernel, because this host's kernel has no sch_netem. One VM boot for the whole file:
// netem/vm/netem-in-vm.ts does the work inside and prints one JSON line; the checks below
// assert on it. TCG (and a busy host) makes guest timers late, so RTT checks use the
// minimum and low quantiles with tolerances: functional checks, not figures.
//
// Skips only when qemu, a netem-capable kernel in /boot or a static busybox is missing
// (CI: apt-get install qemu-system-x86 linux-image-amd64 busybox-static).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { tsArgv } from '../proc/exec.ts';
import { runInVm, vmAvailable } from './vm/qemu.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(HERE, 'vm', 'netem-in-vm.ts');
const REPO = join(HERE, '..');
/** boot ~5-10 s + the script ~2-3 min on TCG; generous for a loaded 2-core host */
const VM_TIMEOUT_MS = 8 * 60_000;

test('tc-netem backend inside a qemu VM', { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
  const avail = vmAvailable();
  if (!avail.ok) {
    process.stdout.write(`# SKIP netem VM test: ${avail.reason}\n`);
    t.skip(avail.reason);
    return;
  }
  const [node, args] = tsArgv(SCRIPT);
  let r = await runInVm({ command: [node, ...args], cwd: REPO, timeoutMs: VM_TIMEOUT_MS });
  // Seen in full-suite CI runs only (never alone): node inside the TCG guest killed by
  // SIGSEGV seconds after boot, or failing while it loads the script's modules (tsx's wasm
  // lexer: "RuntimeError: memory access out of bounds", exit 1, nothing measured yet). One
  // retry, reported; a second crash fails the test.
  const guestCrashed = (x: typeof r) => !x.stdout.includes('NETEM-VM-RESULT ') && (x.exitCode >= 128 || (x.exitCode !== 0 && /RuntimeError: memory access out of bounds/.test(x.stderr)));
  if (guestCrashed(r)) {
    t.diagnostic(`guest command died with exit ${r.exitCode} (${r.stderr.trim().slice(-200)}); retrying the VM once`);
    r = await runInVm({ command: [node, ...args], cwd: REPO, timeoutMs: VM_TIMEOUT_MS });
  }
  t.diagnostic(`VM ${r.kver}: initramfs ${r.timings.initramfsMs} ms (cached ${r.timings.initramfsCached}), boot ${r.timings.bootMs} ms, total ${r.timings.totalMs} ms`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('NETEM-VM-RESULT '));
  assert.ok(line, `no result line; exit ${r.exitCode}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-3000)}\nconsole: ${r.console.slice(-2000)}`);
  const res = JSON.parse(line.slice('NETEM-VM-RESULT '.length));
  t.diagnostic(`result: ${JSON.stringify(res)}`);
  assert.equal(res.error, undefined, `in-VM script failed: ${res.error}\ndmesg: ${res.dmesgTail ?? ''}\nprobe failures: ${res.probeFailures}`);
  assert.equal(r.exitCode, 0, r.stderr.slice(-2000));

  await t.test('netem is available and installed on both router egress interfaces', () => {
    assert.equal(res.netemAvailable.ok, true, res.netemAvailable.reason);
    for (const dir of ['uplink', 'downlink']) {
      assert.equal(res.qdiscs[dir]?.kind, 'netem', `${dir}: ${JSON.stringify(res.qdiscs[dir])}`);
      assert.equal(res.qdiscs[dir].options.delay.delay, 0.02);
    }
    assert.equal(res.tcpCc.client, 'cubic');
    assert.equal(res.tcpCc.server, 'cubic');
  });

  await t.test('2x20 ms: RTT ~40 ms, no loss', () => {
    const d = res.delay20;
    assert.ok(d.lossPct <= 1, `loss ${d.lossPct}%`);
    // netem never releases early; TCG adds a couple of ms of processing on the way
    // (seen: min 41.8-45.8, p50 44-59 ms depending on how busy the host is)
    assert.ok(d.minMs >= 39.5 && d.minMs <= 55, `min RTT ${d.minMs} ms`);
    assert.ok(d.p50Ms >= 39.5 && d.p50Ms <= 90, `median RTT ${d.p50Ms} ms`);
  });

  await t.test('10% random loss each way: RTT loss between 10% and 30% (expected 19%), counted by stats()', () => {
    const d = res.loss10;
    assert.ok(d.lossPct >= 10 && d.lossPct <= 30, `RTT loss ${d.lossPct}%`);
    for (const dir of ['uplink', 'downlink']) {
      const s = res.loss10Stats[dir];
      const frac = s.drops.loss / s.packets;
      assert.ok(frac >= 0.04 && frac <= 0.18, `${dir}: netem dropped ${s.drops.loss}/${s.packets}`);
      assert.equal(s.delivered + s.drops.loss, s.packets, `${dir}: delivered + dropped = entered`);
    }
  });

  await t.test('live update to 2x50 ms moves the RTT by ~60 ms', () => {
    assert.ok(res.delay50.lossPct <= 1, `loss ${res.delay50.lossPct}%`);
    const shift = res.delay50.minMs - res.delay20.minMs;
    assert.ok(shift >= 50 && shift <= 75, `min RTT ${res.delay20.minMs} -> ${res.delay50.minMs} ms`);
  });

  await t.test('jitter: in order unless reorder is asked for; normal -> uniform re-adds the qdisc', () => {
    assert.ok(res.jitterInOrder.reordered <= 2, `reordered ${res.jitterInOrder.reordered} with reorder: false`);
    assert.ok(res.jitterReorder.reordered >= 10, `reordered only ${res.jitterReorder.reordered} with reorder: true`);
    assert.ok(res.jitterInOrder.minMs >= 19.5, `uniform ±10 ms each way: min RTT ${res.jitterInOrder.minMs}`);
    assert.ok(res.jitterNormal.lossPct <= 1);
    assert.notEqual(res.reAdd.handleAfter, res.reAdd.handleBefore, 'a new qdisc was added');
    assert.ok(res.reAdd.packetsAfter >= res.reAdd.packetsBefore, 'stats stay cumulative across the re-add');
  });

  await t.test('reorder knob: netem reorder 25% gap 1 reorders without losing', () => {
    assert.match(JSON.stringify(res.reorderKnobOptions), /reorder/, JSON.stringify(res.reorderKnobOptions));
    assert.ok(res.reorderKnob.reordered >= 10, `reordered only ${res.reorderKnob.reordered} of 200 with reorder_pct 25`);
    assert.ok(res.reorderKnob.lossPct <= 1, `loss ${res.reorderKnob.lossPct}%`);
    assert.doesNotMatch(JSON.stringify(res.reorderOffOptions), /reorder/, `a change without the knob left ${JSON.stringify(res.reorderOffOptions)}`);
  });

  await t.test('rate is set on change and removed again by the next change', () => {
    assert.equal(res.rateOptions?.rate?.rate, 10e6 / 8, JSON.stringify(res.rateOptions));
    assert.ok(!res.geOptions?.rate || res.geOptions.rate.rate === 0, JSON.stringify(res.geOptions));
  });

  await t.test('Gilbert-Elliott (uplink p=1% r=20%): bursty loss near 4.8%', () => {
    const g = res.ge;
    assert.ok(g.lossPct >= 1.5 && g.lossPct <= 10, `GE loss ${g.lossPct}%`);
    // independent loss at this rate would give bursts of ~1.05
    assert.ok(g.meanBurst >= 2, `mean burst ${g.meanBurst}`);
  });

  await t.test('blackhole drops everything, is counted as outage, and restores', () => {
    assert.equal(res.blackholeOn.received, 0);
    assert.ok(res.blackholeOff.lossPct <= 2, `after restore: loss ${res.blackholeOff.lossPct}%`);
    const up = res.blackholeStats.uplink;
    assert.ok(up.drops.outage >= 45, `uplink outage drops ${up.drops.outage}`);
    assert.equal(up.drops.loss, 0);
  });

  await t.test('teardown leaves no netem qdisc and no namespace', () => {
    assert.notEqual(res.afterTeardown.uplink, 'netem');
    assert.notEqual(res.afterTeardown.downlink, 'netem');
    assert.equal(res.namespacesLeft, 0);
  });
});
