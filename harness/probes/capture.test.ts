// Capture on real namespaces (helper backend, 2% loss each way, 50 ms RTT): Wireshark's
// tshark decrypts each job's pcap with its key log (HTTP/2 and HTTP/3 HEADERS frames), the
// exact head-of-line figures tell the transports apart the way their delivery rules say they
// must, and no tcpdump survives a run, finished or interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../proc/exec.ts';
import { captureBase } from './capture.ts';
import { holbench as holbenchCli, runScenario } from '../testdata/cli.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const RTT_MS = 50;
const OBJECTS = 30;
const PROTOCOLS = ['http1.1x6', 'h2', 'h3'];

const holbench = (args: string[], onStderr?: (line: string, kill: (s: NodeJS.Signals) => void) => void) => holbenchCli(args, { onStderr });

/** tcpdump processes writing under `dir` */
async function tcpdumpsUnder(dir: string): Promise<string[]> {
  const ps = await run('ps', ['-eo', 'pid,args'], { allowFail: true });
  return ps.stdout.split('\n').filter((l) => l.includes('tcpdump') && l.includes(dir));
}

const scenario = (reps: number) =>
  `name: capt\nprotocols: [${PROTOCOLS.join(', ')}]\nworkload: {kind: page, objects: ${OBJECTS}, object_bytes: 20000}\nnetwork: {delay_ms: ${RTT_MS / 2}, loss_pct: 2, rate_bps: 20mbit}\nrepetitions: ${reps}\nseed: 42\ncapture: true\n`;

test('capture: tshark decrypts h2 and h3 HEADERS; exact HoL: h2 cross > 0, h3 and http1.1x6 none; no tcpdump left', async () => {
  const r = await runScenario(scenario(1), { prefix: 'holbench-capt-' });
  assert.equal(r.code, 0, r.stderr);
  const { outDir: dir, summary: rows } = r;
  assert.deepEqual(rows.map((x) => x.protocol).sort(), [...PROTOCOLS].sort());
  const by = Object.fromEntries(rows.map((x) => [x.protocol!, x]));
  const info = async (p: string) => JSON.parse(await readFile(`${captureBase(join(dir, 'capture'), 'base', p, 1)}.json`, 'utf8'));

  // Wireshark check: HEADERS frames decrypted with the key log (requests and responses)
  const headers = async (p: string, filter: string) => {
    const base = captureBase(join(dir, 'capture'), 'base', p, 1);
    const t = await run('tshark', ['-n', '-r', `${base}.pcap`, '-o', `tls.keylog_file:${base}.keys`, '-Y', filter, '-T', 'fields', '-e', 'frame.number']);
    return t.stdout.split('\n').filter(Boolean).length;
  };
  assert.ok((await headers('h2', 'http2.type==1')) >= 2, 'decrypted HTTP/2 HEADERS frames');
  assert.ok((await headers('h3', 'http3.frame_type==1')) >= 2, 'decrypted HTTP/3 HEADERS frames');
  // and without the keys there are none: the key log is what decrypts
  const base = captureBase(join(dir, 'capture'), 'base', 'h2', 1);
  const blind = await run('tshark', ['-n', '-r', `${base}.pcap`, '-Y', 'http2.type==1', '-T', 'fields', '-e', 'frame.number']);
  assert.equal(blind.stdout.trim(), '');

  for (const p of PROTOCOLS) {
    const i = await info(p);
    assert.equal(by[p]!.status, 'SUCCEEDED', `${p}: ${by[p]!.reason}`);
    assert.deepEqual(i.notes, [], `${p}: ${i.notes}`);
    assert.equal(i.hol.streams, OBJECTS, `${p}: every object's stream was found in the capture`);
    assert.equal(i.hol.undelivered_bytes, 0, `${p}: every body byte placed`);
    assert.ok(i.bytes > 0);
  }
  // h2: one TCP connection; at 2% loss some stream waits for another stream's retransmission
  assert.ok(Number(by.h2!.hol_cross_ms) > 0, `h2 hol_cross_ms ${by.h2!.hol_cross_ms}`);
  assert.ok(Number(by.h2!.hol_cross_bytes) > 0);
  // h3: no cross-stream wait, and (measured, not by construction) 99% of its deliveries came
  // less than half an RTT after their own stream's readiness: bytes held for another
  // stream's retransmission wait at least one RTT. h2 shows the check can fail. (The max is
  // not asserted: one run saw a single h3 delivery ~1 RTT late, not yet explained.)
  assert.equal(Number(by.h3!.hol_cross_ms), 0);
  assert.ok((await info('h3')).hol.lag_after_self_p99_ms < RTT_MS / 2, `h3 p99 lag ${(await info('h3')).hol.lag_after_self_p99_ms}`);
  assert.ok((await info('h2')).hol.lag_after_self_p99_ms >= RTT_MS / 2, `h2 p99 lag ${(await info('h2')).hol.lag_after_self_p99_ms}`);
  // HTTP/1.1: one response at a time per connection: nothing to wait for but itself
  assert.equal(Number(by['http1.1x6']!.hol_cross_ms), 0);
  assert.ok(Number(by.h2!.hol_self_ms) > 0 && Number(by['http1.1x6']!.hol_self_ms) > 0, 'lost packets make streams wait for themselves');
  assert.deepEqual(await tcpdumpsUnder(dir), []); // the pcaps are under the run's folder
  process.stderr.write(`# capture: ${PROTOCOLS.map((p) => `${p} self ${by[p]!.hol_self_ms} cross ${by[p]!.hol_cross_ms} ms, hol_stall_index ${by[p]!.hol_stall_index}`).join('; ')}\n`);
});

test('capture: Ctrl-C during a captured run leaves no tcpdump', async () => {
  const out = await tempDir('holbench-capt-int-');
  const f = join(out, 's.yaml');
  await writeFile(f, scenario(5));
  let sent = false;
  const r = await holbench(['run', f, '--backend', 'helper', '--out', join(out, 'results'), '--no-report'], (line, kill) => {
    if (!sent && /^ ?2\/15 /.test(line)) {
      sent = true;
      // in the middle of job 2: its tcpdump is running
      setTimeout(() => kill('SIGINT'), 500);
    }
  });
  assert.ok(sent, r.stderr);
  assert.equal(r.code, 130, r.stderr);
  assert.deepEqual(await tcpdumpsUnder(out), []);
});
