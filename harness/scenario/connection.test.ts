// The scenario's `connection` field (cold | warm | resumed) and its sweep axis: cells carry
// the mode, the network stays what the file says, and bad input (an unknown mode, resumed on
// a cleartext protocol, a mode on a messaging workload) is refused naming the field; the
// CLI exits 2 and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseScenarioText } from './load.ts';
import { scenarioProblems as problems } from '../testdata/scenario.ts';
import { holbench } from '../testdata/cli.ts';
import { CONNECTION_MODES } from '../drivers/types.ts';
import { PROTOCOL_TABLE, protocolsOf } from '../protocols.ts';
import { hostNetSnapshot } from '../../netem/hostcheck.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const page = 'workload: {kind: page, objects: 2, object_bytes: 100}\n';

test('connection: cold by default, a top-level mode applies to every cell, the network untouched', () => {
  const plain = parseScenarioText(`protocols: [h2]\n${page}network: {delay_ms: 10}\nsweep: {loss_pct: [0, 1]}\n`, 'c.yaml');
  assert.deepEqual(plain.cells.map((c) => c.connection), ['cold', 'cold']);
  const warm = parseScenarioText(`protocols: [h2]\n${page}network: {delay_ms: 10}\nsweep: {loss_pct: [0, 1]}\nconnection: warm\n`, 'c.yaml');
  assert.deepEqual(warm.cells.map((c) => c.connection), ['warm', 'warm']);
  assert.deepEqual(warm.cells.map((c) => c.id), plain.cells.map((c) => c.id), 'a top-level mode is not a sweep axis');
  assert.deepEqual(warm.cells.map((c) => c.profile), plain.cells.map((c) => c.profile));
});

test('connection as a sweep axis: one cell per mode (x the other axes), ids name it, profiles unchanged', () => {
  const modes = [...CONNECTION_MODES];
  const s = parseScenarioText(`protocols: [h2, h3]\n${page}network: {delay_ms: 10}\nsweep: {rtt_ms: [20, 100], connection: [${modes.join(', ')}]}\n`, 'c.yaml');
  assert.equal(s.cells.length, 2 * modes.length);
  for (const rtt of [20, 100]) {
    for (const m of modes) {
      const cell = s.cells.find((c) => c.params.rtt_ms === rtt && c.params.connection === m);
      assert.ok(cell, `cell rtt ${rtt} x ${m}`);
      assert.equal(cell.connection, m);
      assert.ok(cell.id.includes(`connection=${m}`) && cell.id.includes(`rtt_ms=${rtt}`), cell.id);
      // the mode is not a network parameter: the path is what rtt_ms alone makes it
      assert.equal(cell.profile.uplink.delayMs, rtt / 2);
      assert.equal(cell.profile.downlink.delayMs, rtt / 2);
    }
  }
  assert.equal(new Set(s.cells.map((c) => c.id)).size, s.cells.length, 'cell ids are distinct');
});

test('an unknown connection mode is refused, naming the field and the valid modes', () => {
  const top = problems(`protocols: [h2]\n${page}connection: hot\n`);
  assert.equal(top.length, 1, top.join('\n'));
  assert.match(top[0]!, /^\d+:\d+ connection: /);
  for (const m of CONNECTION_MODES) assert.ok(top[0]!.includes(m), `"${top[0]}" lists ${m}`);
  const swept = problems(`protocols: [h2]\n${page}sweep: {connection: [warm, hot]}\n`);
  assert.equal(swept.length, 1, swept.join('\n'));
  assert.match(swept[0]!, /sweep\.connection\.1/);
});

test('resumed on every cleartext HTTP protocol is refused (naming it), TLS protocols take it', () => {
  // the lists come from the protocol table
  const http = protocolsOf('http');
  // cleartext spellings: protocols that never use TLS, and the `-clear` label of those where it is a choice
  const clear = http.flatMap((p) => {
    const t = PROTOCOL_TABLE[p].tls;
    return t.kind === 'never' ? [p] : t.kind === 'default-on' ? [`${p}${t.clearSuffix}`] : [];
  });
  const tls = http.filter((p) => PROTOCOL_TABLE[p].tls.kind !== 'never');
  assert.ok(tls.length >= 4, 'h2, h3 and HTTP/1.x over TLS');
  assert.ok(clear.length >= 2, 'http1.0-clear and http1.1-clear at least');
  for (const p of clear) {
    for (const where of ['connection: resumed\n', 'sweep: {connection: [cold, resumed]}\n']) {
      const ps = problems(`protocols: [${tls[0]}, ${p}]\n${page}${where}`);
      assert.equal(ps.length, 1, ps.join('\n'));
      assert.match(ps[0]!, new RegExp(`protocols\\.1: ${p.replace('.', '\\.')} is cleartext; connection: resumed needs TLS`));
      assert.match(ps[0]!, where.startsWith('sweep') ? /sweep\.connection/ : /\d+:\d+ connection\)/);
    }
    // warm needs no TLS
    assert.equal(parseScenarioText(`protocols: [${p}]\n${page}connection: warm\n`, 'c.yaml').cells[0]!.connection, 'warm');
  }
  const ok = parseScenarioText(`protocols: [${tls.join(', ')}]\n${page}connection: resumed\n`, 'c.yaml');
  assert.deepEqual(ok.cells.map((c) => c.connection), ['resumed']);
});

test('warm or resumed on a messaging workload is refused; cold is fine there', () => {
  const ps = problems('protocols: [ws]\nworkload: {kind: messages}\nconnection: warm\n');
  assert.equal(ps.length, 1, ps.join('\n'));
  assert.match(ps[0]!, /connection: warm applies to page and load workloads/);
  parseScenarioText('protocols: [ws]\nworkload: {kind: messages}\nconnection: cold\n', 'c.yaml');
});

test('CLI: resumed on a cleartext protocol exits 2 naming the field, nothing changed', async () => {
  const dir = await tempDir('holbench-conn-');
  const f = join(dir, 'resumed-clear.yaml');
  await writeFile(f, `protocols: [h2, http1.1-clear]\n${page}connection: resumed\n`);
  const g = join(dir, 'unknown.yaml');
  await writeFile(g, `protocols: [h2]\n${page}sweep: {connection: [lukewarm]}\n`);
  const before = await hostNetSnapshot();
  const cli = (args: string[]) => holbench(args, { timeoutMs: 60_000 });
  const r = await cli(['run', f, '--out', join(dir, 'out')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /protocols\.1: http1\.1-clear is cleartext; connection: resumed needs TLS/);
  assert.match(r.stderr, /nothing was changed/);
  const u = await cli(['run', g, '--out', join(dir, 'out')]);
  assert.equal(u.code, 2, u.stderr);
  assert.match(u.stderr, /sweep\.connection\.0/);
  assert.deepEqual(await hostNetSnapshot(), before);
});
