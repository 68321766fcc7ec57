// The protocol table is the one source of truth: every entry has a driver and a server plugin
// that load, the schema accepts exactly the table's names, the connection rule gives both
// spellings one answer, and the report orders and colours labels from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOLS, PROTOCOL_TABLE, POOLED, protocolDef, protocolsOf, resolveConnections, type ProtocolName } from './protocols.ts';
import { loadPlugin } from '../servers/registry.ts';
import { driverFor, messageDriverFor } from './drivers/registry.ts';
import { parseScenarioText, ScenarioError } from './scenario/load.ts';
import { jsonSchema } from './scenario/schema.ts';
import { protocolColors, sortProtocols } from './report/labels.ts';
import { h3Support } from '../h3/binding.ts';

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
    const plugin = await loadPlugin(d.plugin);
    assert.equal(typeof plugin.start, 'function', `${name}: plugin ${d.plugin}`);
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
    const yaml = `protocols: [${name}]\n${fam === 'http' ? page : 'workload: {kind: messages, pattern: ' + ('patterns' in protocolDef(name) ? (protocolDef(name) as any).patterns[0] : 'push') + '}\n'}`;
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
