// The scenario's `client` field: chromium runs page workloads over http1.1 (TLS), h2 and h3
// and is labelled <label>@chromium so both clients compare side by side; anything else is
// refused naming the field, and the CLI exits 2 with nothing applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseScenarioText } from './scenario/load.ts';
import { scenarioProblems as problems } from './testdata/scenario.ts';
import { CHROMIUM_PROTOCOLS, CHROMIUM_SUFFIX } from './clients.ts';
import { labelRank, parseLabel, protocolsOf } from './protocols.ts';
import { sortProtocols } from './report/labels.ts';
import { holbench } from './testdata/cli.ts';
import { hostNetSnapshot } from '../netem/hostcheck.ts';
import { tempDir } from '../proc/testdata/tmp.ts';

const page = 'workload: {kind: page, objects: 2, object_bytes: 100}\n';

test('client chromium: labels <label>@chromium beside the holbench ones, both spellings give one spec', () => {
  const s = parseScenarioText(
    `protocols: [h2, {protocol: h2, client: chromium}, h3@chromium, {protocol: http1.1, client: chromium}, {protocol: h3, client: holbench}]\n${page}`,
    'c.yaml',
  );
  assert.deepEqual(s.protocols.map((p) => p.label), ['h2', 'h2@chromium', 'h3@chromium', 'http1.1x6@chromium', 'h3']);
  assert.deepEqual(s.protocols.map((p) => p.client), [undefined, 'chromium', 'chromium', 'chromium', undefined]);
  // Chromium's own pool: 6 per origin on HTTP/1.1, always TLS
  assert.deepEqual(s.protocols.slice(1, 4).map((p) => [p.connections, p.tls]), [[1, true], [1, true], [6, true]]);
  // every output label is a valid entry again, for every protocol Chromium runs
  for (const p of Object.keys(CHROMIUM_PROTOCOLS)) {
    const spec = parseScenarioText(`protocols: [{protocol: ${p}, client: chromium}]\n${page}`, 'c.yaml').protocols[0]!;
    const again = parseScenarioText(`protocols: [${spec.label}]\n${page}`, 'c.yaml').protocols[0]!;
    assert.deepEqual(again, spec);
    assert.equal(parseLabel(spec.label)?.client, 'chromium');
  }
  // report order: a Chromium label right after its holbench sibling
  assert.deepEqual(sortProtocols(['h3@chromium', 'h2@chromium', 'h3', 'h2', 'http1.1x6', 'http1.1x6@chromium']), ['http1.1x6', 'http1.1x6@chromium', 'h2', 'h2@chromium', 'h3', 'h3@chromium']);
  assert.ok(labelRank('h2@chromium')[0] === labelRank('h2')[0]);
});

test('client chromium on what it cannot do is refused naming the field', () => {
  const others = protocolsOf('http').filter((p) => !(p in CHROMIUM_PROTOCOLS));
  assert.ok(others.length > 0);
  for (const p of others) {
    const got = problems(`protocols: [{protocol: ${p}, client: chromium}]\n${page}`);
    assert.ok(got.some((m) => /protocols\.0\.client: client chromium runs http1\.1, h2, h3 only/.test(m)), `${p}: ${got}`);
  }
  assert.match(problems(`protocols: [{protocol: http1.1, client: chromium, tls: false}]\n${page}`).join('\n'), /protocols\.0\.tls: client chromium speaks HTTP over TLS only/);
  assert.match(problems(`protocols: [{protocol: http1.1, client: chromium, connections: 2}]\n${page}`).join('\n'), /protocols\.0\.connections: client chromium picks its own connections/);
  assert.match(problems(`protocols: [{protocol: h2, client: firefox}]\n${page}`).join('\n'), /protocols\.0\.client/);
  assert.match(problems(`protocols: [http1.0${CHROMIUM_SUFFIX}]\n${page}`).join('\n'), /protocols\.0: client chromium runs http1\.1, h2, h3 only/);
  assert.match(problems(`protocols: [{protocol: h2, client: chromium}]\nworkload: {kind: load, duration_s: 1}\n`).join('\n'), /protocols\.0\.client: chromium loads page workloads only, not load/);
  assert.match(problems(`protocols: [{protocol: h2, client: chromium}]\nworkload: {kind: messages}\n`).join('\n'), /protocols\.0\.client: chromium loads page workloads only, not messages/);
});

test('CLI: client chromium on a load workload exits 2 naming protocols.0.client, nothing applied', { timeout: 120_000 }, async () => {
  const dir = await tempDir('holbench-client-');
  const f = join(dir, 'bad.yaml');
  await writeFile(f, `protocols: [h2, {protocol: h3, client: chromium}]\nworkload: {kind: load, duration_s: 1}\n`);
  const g = join(dir, 'bad2.yaml');
  await writeFile(g, `protocols: [{protocol: ws, client: chromium}]\n${page}`);
  const before = await hostNetSnapshot();
  const r = await holbench(['run', f, '--out', join(dir, 'out')], { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /protocols\.1\.client: chromium loads page workloads only, not load/);
  const r2 = await holbench(['run', g, '--out', join(dir, 'out')], { timeoutMs: 60_000 });
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /protocols\.0\.client: client chromium runs http1\.1, h2, h3 only, not ws/);
  assert.deepEqual(await readdir(dir), ['bad.yaml', 'bad2.yaml'], 'no results folder');
  assert.deepEqual(await hostNetSnapshot(), before);
  await rm(dir, { recursive: true, force: true });
});
