// Hostile scenario text: every number finite and within a range that runs, aliases and
// problem lists bounded, a name that fits folder names, and one specific message per problem
// with the first problem on the first line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText, ScenarioError } from './load.ts';
import { LinkSchema } from '../../netem/profile.ts';

const HEAD = 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n';

function problemsOf(text: string, file = 'x.yaml'): ScenarioError {
  try {
    parseScenarioText(text, file);
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `a ScenarioError, not ${(e as Error)?.stack}`);
    return e;
  }
  assert.fail(`expected problems in:\n${text}`);
}

test('rates: Infinity, too slow to apply, unparseable and non-numbers get the rate message', () => {
  for (const v of ['"1e400mbit"', '"1e308gbit"', '1e400', '1e300', '"0.0000001bit"', '7999', '"200gbit"', '"20 furlongs"', 'true', '"-5mbit"']) {
    const e = problemsOf(`${HEAD}network: {rate_bps: ${v}}\n`);
    assert.equal(e.problems.length, 1, `${v}: ${e.message}`);
    assert.match(e.problems[0]!, /^3:\d+ network\.rate_bps: expected a rate from 8kbit to 100gbit/, v);
  }
  // the same rule in a sweep and per direction
  assert.match(problemsOf(`${HEAD}sweep: {rate_bps: [10mbit, "1e400mbit"]}\n`).problems[0]!, /sweep\.rate_bps\.1: expected a rate from 8kbit/);
  assert.match(problemsOf(`${HEAD}network: {uplink: {rate_bps: "0.5bit"}}\n`).problems[0]!, /network\.uplink\.rate_bps: expected a rate/);
  // the bounds themselves run
  for (const [v, bps] of [['8kbit', 8000], ['8000', 8000], ['100gbit', 100e9], ['1.5mbit', 1.5e6]] as const) {
    assert.equal(parseScenarioText(`${HEAD}network: {rate_bps: ${v}}\n`, 'x.yaml').cells[0]!.profile.uplink.rateBps, bps);
  }
});

test('every numeric network field rejects Infinity and has an upper bound', () => {
  // the per-direction keys come from the schema itself, so a new numeric key is covered
  const numeric = Object.keys(LinkSchema.shape).filter((k) => !['jitter_distribution', 'loss_ge', 'reorder'].includes(k));
  assert.ok(numeric.length >= 5, numeric.join());
  const cases: [string, string][] = [
    ...numeric.map((k) => [`network: {${k}: VALUE}`, `network.${k}`] as [string, string]),
    ...numeric.map((k) => [`network: {downlink: {${k}: VALUE}}`, `network.downlink.${k}`] as [string, string]),
    ['network: {loss_ge: {p: VALUE}}', 'network.loss_ge.p'],
    ['network: {outages: [{from_s: VALUE, to_s: 5}]}', 'network.outages.0.from_s'],
    ['network: {outages: [{from_s: 1, to_s: VALUE}]}', 'network.outages.0.to_s'],
  ];
  for (const [yaml, path] of cases) {
    for (const v of ['.inf', '1e300']) {
      const e = problemsOf(`${HEAD}${yaml.replace('VALUE', v)}\n`);
      assert.ok(e.problems.some((p) => p.includes(` ${path}: `)), `${yaml} with ${v}: ${e.message}`);
    }
  }
  // an outage is in force within a cell (timeouts.cell_s <= 3600): the runner's timers cannot go further
  assert.match(problemsOf(`${HEAD}network: {outages: [{from_s: 3601, to_s: 3700}]}\n`).message, /from_s: Too big: expected number to be <=3600/);
});

test('loss_pct with loss_ge is reported once; the first problem is on the first line', () => {
  const e = problemsOf(`${HEAD}network: {loss_pct: 1, loss_ge: {p: 0.1}}\n`);
  assert.deepEqual(e.problems, ['3:10 network: set either loss_pct or loss_ge, not both']);
  assert.equal(e.message, 'x.yaml: 3:10 network: set either loss_pct or loss_ge, not both');
  const two = problemsOf(`${HEAD}network: {delay_ms: -1, jitter_ms: -1}\n`);
  const lines = two.message.split('\n');
  assert.match(lines[0]!, /^x\.yaml: 2 problems: 3:\d+ network\.delay_ms: /);
  assert.match(lines[1]!, /^ {2}3:\d+ network\.jitter_ms: /);
  assert.equal(lines.length, 2);
});

test('a union answers with its specific message, not a bare "Invalid input"', () => {
  assert.match(problemsOf(`protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 0}\n`).problems[0]!, /workload\.object_bytes: Too small: expected number to be >=1/);
  assert.match(problemsOf(`protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: x}\n`).problems[0]!, /workload\.object_bytes: Invalid input: expected number or array, received string/);
  assert.match(problemsOf(`protocols: [{protocol: h2, colour: 1}]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n`).problems[0]!, /protocols\.0\.colour: unknown key/);
});

test('the problem list is capped: the first 50, then "... and N more"', () => {
  const keys = Array.from({ length: 120 }, (_, i) => `k${i}: 1`).join('\n');
  const e = problemsOf(`${HEAD}${keys}\n`);
  const lines = e.message.split('\n');
  assert.match(lines[0]!, /^x\.yaml: 120 problems: 3:1 k0: unknown key$/);
  assert.equal(lines.length, 51);
  assert.equal(lines[50], '  ... and 70 more');
});

test('duplicate keys are problems with their position', () => {
  const e = problemsOf(`${HEAD}network: {delay_ms: 1, delay_ms: 2}\n`);
  assert.deepEqual(e.problems, ['3:24 network.delay_ms: duplicate key']);
});

test('aliases: an undefined alias and an alias bomb are problems, not crashes', () => {
  assert.match(problemsOf(`protocols: [*nope]\n`).message, /^x\.yaml: YAML: .*alias.*nope/);
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) bomb.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  assert.match(problemsOf(`${bomb.join('\n')}\nprotocols: [h2]\n`).message, /^x\.yaml: YAML: .*alias/i);
});

test('a scenario without name: is named after its file, within the name rule', () => {
  const rule = /^[a-zA-Z0-9._-]{1,64}$/;
  const long = parseScenarioText(HEAD, `/tmp/${'a'.repeat(250)}.yaml`);
  assert.match(long.name, rule);
  assert.equal(long.name, 'a'.repeat(64));
  const odd = parseScenarioText(HEAD, '/tmp/my scenario (copy)\u001b[2J.yaml');
  assert.match(odd.name, rule);
  const none = problemsOf(HEAD, '/tmp/\u00e9\u00e9.yaml');
  assert.match(none.message, /name: not set, and the file name .* gives no usable name/);
});

test('sweeps are counted before they are expanded and capped', () => {
  // 80^5 = 3.3e9 cells in a couple of kB of YAML
  const axis = Array.from({ length: 80 }, (_, i) => i + 1).join(', ');
  const text = `${HEAD}sweep: {loss_pct: [${axis}], delay_ms: [${axis}], jitter_ms: [${axis}], queue_packets: [${axis}], rate_bps: [${Array.from({ length: 80 }, (_, i) => `${i + 1}mbit`).join(', ')}]}\n`;
  const e = problemsOf(text);
  assert.match(e.message, /sweep: 9,830,400,000 jobs \(3,276,800,000 cells x 1 protocols x 3 repetitions\) is over the limit of 100,000 jobs/);
});
