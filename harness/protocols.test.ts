// The protocol table is the one source of truth: every entry has a driver and a server plugin
// that load, the schema accepts exactly the table's names, the connection and TLS rules give
// both spellings one answer, and the report orders and colours labels from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { colorOf, parseLabel, pluginOf, PROTOCOLS, PROTOCOL_TABLE, POOLED, protocolDef, protocolsOf, resolveConnections, resolveTls, TLS_CHOICE, type ProtocolName } from './protocols.ts';
import { loadPlugin } from '../servers/registry.ts';
import { driverFor, messageDriverFor } from './drivers/registry.ts';
import { parseScenarioText, ScenarioError } from './scenario/load.ts';
import { jsonSchema } from './scenario/schema.ts';
import { protocolColors, sortProtocols } from './report/labels.ts';
import { h3Support } from '../h3/binding.ts';
import { tempDir } from '../proc/testdata/tmp.ts';

const page = 'workload: {kind: page, objects: 2, object_bytes: 100}\n';
const problemsOf = (yaml: string): string[] => {
  try {
    parseScenarioText(yaml, 'x.yaml');
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
};

test('every table entry loads its driver and its server plugin', async () => {
  const h3 = h3Support();
  let loaded = 0;
  for (const name of PROTOCOLS) {
    const d = protocolDef(name);
    if (d.transport === 'udp' && !h3.ok) continue; // the binding is missing on this platform
    const factory = d.family === 'http' ? await driverFor(name) : await messageDriverFor(name);
    assert.equal(typeof factory, 'function', `${name}: driver factory`);
    // the plugin of every TLS choice the protocol allows
    for (const tls of d.tls.kind === 'default-on' ? [true, false] : [d.tls.kind === 'always']) {
      const plugin = await loadPlugin(pluginOf(name, tls));
      assert.equal(typeof plugin.start, 'function', `${name}: plugin ${pluginOf(name, tls)}`);
    }
    loaded++;
  }
  assert.equal(loaded, h3.ok ? PROTOCOLS.length : PROTOCOLS.filter((p) => protocolDef(p).transport !== 'udp').length);
  // the registries refuse a protocol of the other family, naming the ones that fit
  await assert.rejects(driverFor('ws'), /no page\/load driver for protocol ws \(drivers: http1\.0, http1\.1, h2, h3\)/);
  await assert.rejects(messageDriverFor('h2'), new RegExp(`h2 does not carry messages \\(messaging protocols: ${protocolsOf('messages').join(', ')}\\)`));
});

test('the scenario schema accepts exactly the table names', () => {
  const items = (jsonSchema() as any).properties.protocols.items.anyOf;
  const names = items[0].anyOf[0].enum;
  assert.deepEqual(names, PROTOCOLS);
  for (const name of PROTOCOLS) {
    const fam = protocolDef(name).family;
    const yaml = `protocols: [${name}]\n${fam === 'http' ? page : 'workload: {kind: messages, pattern: ' + ('patterns' in protocolDef(name) ? (protocolDef(name) as any).patterns[0] : 'push') + ((protocolDef(name) as any).resume === false ? ', resume: false' : '') + '}\n'}`;
    assert.deepEqual(problemsOf(yaml), [], name);
  }
  assert.match(problemsOf(`protocols: [h4]\n${page}`)[0]!, /unknown protocol "h4": expected one of http1\.0, http1\.1, h2, h3, ws/);
});

test('one connection rule for both spellings', () => {
  const cases: [string, string, RegExp][] = [
    ['http1.1x0', '{protocol: http1.1, connections: 0}', /http1\.1 connections must be an integer from 1 to 64, got 0/],
    ['http1.0x0', '{protocol: http1.0, connections: 0}', /http1\.0 connections must be an integer from 1 to 64, got 0/],
    ['http1.1x99', '{protocol: http1.1, connections: 99}', /http1\.1 connections must be an integer from 1 to 64, got 99/],
  ];
  for (const [short, long, re] of cases) {
    const a = problemsOf(`protocols: [${short}]\n${page}`);
    const b = problemsOf(`protocols: [${long}]\n${page}`);
    assert.equal(a.length, 1, short);
    assert.equal(b.length, 1, long);
    assert.match(a[0]!, re);
    assert.match(b[0]!, re);
  }
  const h2 = problemsOf(`protocols: [{protocol: h2, connections: 6}]\n${page}`);
  assert.deepEqual(h2.map((p) => p.replace(/^\S+ /, '')), ['protocols.0.connections: h2 uses one connection (connections applies to http1.0, http1.1 only)']);
  // every single-connection protocol refuses a count, every pool accepts its range
  for (const p of PROTOCOLS) {
    const rule = PROTOCOL_TABLE[p].connections;
    if (rule.kind === 'single') assert.ok('problem' in resolveConnections(p, 2), p);
    else assert.deepEqual(resolveConnections(p, rule.max), { connections: rule.max }, p);
  }
  assert.ok(POOLED.length > 0);
  const s = parseScenarioText(`protocols: [http1.1x1, http1.0x6, http1.1x64, {protocol: http1.1, connections: 6}, h2]\n${page}`.replace('http1.1x64, ', 'http1.1x64, http1.1x2, '), 'x.yaml');
  assert.deepEqual(s.protocols.map((p) => [p.label, p.connections]), [['http1.1', 1], ['http1.0x6', 6], ['http1.1x64', 64], ['http1.1x2', 2], ['http1.1x6', 6], ['h2', 1]]);
});

test('report order and colours come from the table', () => {
  const labels: string[] = ['grpc-bidi', 'zzz', 'h3', 'http1.1x6', 'http1.0x6', 'http1.1', 'h2', 'ws', 'http1.0'];
  assert.deepEqual(sortProtocols(labels), ['http1.0', 'http1.0x6', 'http1.1', 'http1.1x6', 'h2', 'h3', 'ws', 'grpc-bidi', 'zzz']);
  const http = protocolsOf('http') as ProtocolName[];
  const c = protocolColors([...http, 'http1.1x6', 'http1.0x6']);
  for (const p of http) assert.equal(c.range[c.domain.indexOf(p)], PROTOCOL_TABLE[p].color, p);
  assert.equal(c.range[c.domain.indexOf('http1.1x6')], '#f58518');
  // a label without a fixed colour takes one no HTTP protocol holds
  const free = c.range[c.domain.indexOf('http1.0x6')]!;
  assert.ok(!c.range.slice(0, http.length + 1).includes(free), free);
});

test('TLS rule: HTTP/1.x over TLS by default, cleartext by choice, both spellings, one label', () => {
  const s = parseScenarioText(
    `protocols: [http1.0, http1.1x6, {protocol: http1.1, connections: 6, tls: false}, {protocol: http1.0, tls: false}, http1.1-clear, {protocol: http1.1, tls: true}, h2, h3]\n${page}`,
    'x.yaml',
  );
  assert.deepEqual(
    s.protocols.map((p) => [p.label, p.connections, p.tls]),
    [['http1.0', 6, true], ['http1.1x6', 6, true], ['http1.1x6-clear', 6, false], ['http1.0-clear', 6, false], ['http1.1-clear', 1, false], ['http1.1', 1, true], ['h2', 1, true], ['h3', 1, true]],
  );
  // every label is a valid entry that means the same thing (a label copied from summary.csv)
  for (const p of s.protocols) {
    const again = parseScenarioText(`protocols: [${p.label}]\n${page}`, 'x.yaml').protocols[0]!;
    assert.deepEqual(again, p, p.label);
  }
  // the same protocol in both spellings is one label, listed twice
  assert.match(problemsOf(`protocols: [http1.1x6-clear, {protocol: http1.1, connections: 6, tls: false}]\n${page}`)[0]!, /protocols: http1\.1x6-clear is listed twice/);
  // the default of every protocol follows its rule; the plugin follows the choice
  for (const p of PROTOCOLS) {
    const rule = PROTOCOL_TABLE[p].tls;
    assert.deepEqual(resolveTls(p, undefined), { tls: rule.kind !== 'never' }, p);
    if (rule.kind === 'default-on') {
      assert.deepEqual(resolveTls(p, false), { tls: false }, p);
      assert.notEqual(pluginOf(p, false), pluginOf(p, true), `${p}: cleartext has its own plugin`);
    }
  }
  assert.deepEqual(TLS_CHOICE, ['http1.0', 'http1.1']);
  assert.deepEqual([pluginOf('http1.1', true), pluginOf('http1.1', false), pluginOf('h2', true)], ['h1', 'h1-clear', 'h2']);
});

test('TLS rule: `tls` on a protocol without a choice is refused, naming the field', () => {
  assert.deepEqual(problemsOf(`protocols: [http1.1, {protocol: h2, tls: false}]\n${page}`).map((p) => p.replace(/^\S+ /, '')), [
    'protocols.1.tls: h2 always uses TLS; tls applies to http1.0, http1.1 only',
  ]);
  assert.deepEqual(problemsOf(`protocols: [{protocol: ws, tls: true}]\nworkload: {kind: messages}\n`).map((p) => p.replace(/^\S+ /, '')), [
    'protocols.0.tls: ws never uses TLS (cleartext only); tls applies to http1.0, http1.1 only',
  ]);
  // every protocol without a choice refuses both values (the rule: no choice, no key)
  let refused = 0;
  for (const p of PROTOCOLS) {
    if (PROTOCOL_TABLE[p].tls.kind === 'default-on') continue;
    for (const v of [true, false]) assert.ok('problem' in resolveTls(p, v), `${p} tls: ${v}`), refused++;
  }
  assert.equal(refused, 2 * (PROTOCOLS.length - TLS_CHOICE.length));
  // no cleartext spelling for a protocol without a choice
  assert.match(problemsOf(`protocols: [h2-clear]\n${page}`)[0]!, /protocols\.0: unknown protocol "h2-clear"/);
  assert.match(problemsOf(`protocols: [http1.1-clearx6]\n${page}`)[0]!, /unknown protocol "http1\.1-clearx6"/);
  // the JSON schema's pattern takes the same spellings (compiled as editors do, unicode mode)
  const strings = (jsonSchema() as any).properties.protocols.items.anyOf[0].anyOf;
  const re = new RegExp(strings[1].pattern, 'u');
  for (const l of ['http1.0-clear', 'http1.1-clear', 'http1.1x6-clear', 'http1.0x3-clear', 'http1.1x6']) assert.ok(re.test(l) && parseLabel(l), l);
  for (const l of ['h2-clear', 'http1.1-clearx6', 'http1.1-tls']) assert.ok(!re.test(l) && !parseLabel(l), l);
});

test('TLS rule: the CLI refuses `tls` on h2 with exit 2 before touching anything', async () => {
  const dir = await tempDir('holbench-tls-');
  const f = join(dir, 'bad.yaml');
  await writeFile(f, `protocols: [http1.1x6, {protocol: h2, tls: false}]\n${page}`);
  const cli = new URL('./cli.ts', import.meta.url).pathname;
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', cli, 'run', f, '--out', join(dir, 'out')], { timeout: 60_000 }, (err, _o, stderr) =>
      resolve({ code: err ? ((err as any).code as number) : 0, stderr }),
    ),
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /1:\d+ protocols\.1\.tls: h2 always uses TLS/);
  assert.match(r.stderr, /nothing was changed/);
});

test('cleartext labels: right after their TLS sibling, each with its own colour', () => {
  const labels = ['h2', 'http1.1x6-clear', 'http1.1', 'http1.0-clear', 'http1.1x6', 'http1.1-clear', 'http1.0', 'http1.1x8'];
  assert.deepEqual(sortProtocols(labels), ['http1.0', 'http1.0-clear', 'http1.1', 'http1.1-clear', 'http1.1x6', 'http1.1x6-clear', 'http1.1x8', 'h2']);
  // every fixed colour of an HTTP label (names, pool labels, cleartext labels) is distinct
  const fixed = protocolsOf('http').flatMap((p) => {
    const d = PROTOCOL_TABLE[p];
    return [p, ...Object.keys(('labelColors' in d && d.labelColors) || {})];
  });
  assert.ok(fixed.includes('http1.1x6-clear') && fixed.includes('http1.0-clear') && fixed.includes('http1.1-clear'), fixed.join());
  const colours = fixed.map((l) => colorOf(l));
  assert.ok(colours.every(Boolean), fixed.join());
  assert.equal(new Set(colours).size, fixed.length, `colours shared among ${fixed.join(', ')}`);
  // every label a colour key names is a label of that protocol
  for (const l of fixed) assert.ok(parseLabel(l), l);
  const c = protocolColors(sortProtocols(labels));
  assert.notEqual(c.range[c.domain.indexOf('http1.1x6-clear')], c.range[c.domain.indexOf('http1.1x6')]);
  assert.equal(new Set(c.range).size, labels.length, 'one colour per label in a chart');
});
