// Chart labels a slide can use: every protocol label of a run has its own colour, and long
// labels (client and server suffixes) are slanted so neighbours do not overlap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadScenario } from '../scenario/load.ts';
import { protocolAxis, protocolColors, sortProtocols } from './labels.ts';

const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url));

test('every shipped scenario: one distinct colour per protocol label', async () => {
  const files = (await readdir(SCENARIOS)).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 30, `scenarios found: ${files.length}`);
  let crossLabels: string[] = [];
  for (const f of files) {
    const labels = sortProtocols((await loadScenario(join(SCENARIOS, f))).protocols.map((p) => p.label));
    const { domain, range } = protocolColors(labels);
    assert.deepEqual(domain, labels, f);
    assert.equal(new Set(range).size, labels.length, `${f}: ${labels.map((l, i) => `${l}=${range[i]}`).join(' ')}`);
    if (f === 'cross-check.yaml') crossLabels = labels;
  }
  assert.equal(crossLabels.length, 8, 'the cross-check has four client/server pairs x h2, h3');
  assert.equal(protocolAxis(crossLabels).labelAngle, -30, 'h2@chromium@caddy is long: slanted');
  assert.equal(protocolAxis(['http1.1x6', 'h2', 'h3']).labelAngle, 0, 'short labels stay level');
});
