// auto's choice: the first usable backend in table order that can emulate every cell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_NAMES, resolveBackend, type BackendModule, type BackendName } from './index.ts';
import { normalizeProfile, type NetworkProfile } from '../profile.ts';

const plain = normalizeProfile({ delay_ms: 10, loss_pct: 1 });
const burst = normalizeProfile({ delay_ms: 10, loss_burst: { mean_good_ms: 500, mean_bad_ms: 20 } });

/** a table of fake modules: `ok` usable or not; `cannot` a predicate for unsupported profiles */
function table(spec: Record<BackendName, { ok: boolean; cannot?: (p: NetworkProfile) => boolean }>) {
  const out = {} as Record<BackendName, { load(): Promise<BackendModule> }>;
  for (const name of BACKEND_NAMES) {
    const s = spec[name];
    out[name] = {
      load: async () => ({
        available: async () => ({ ok: s.ok, reason: s.ok ? 'fine' : `${name} missing` }),
        create: () => { throw new Error('not in this test'); },
        unsupported: (p: NetworkProfile) => (s.cannot?.(p) ? `${name} cannot do this profile` : null),
      }),
    };
  }
  return out;
}

test('auto skips a usable backend that cannot emulate a cell, and says why', async () => {
  assert.deepEqual(BACKEND_NAMES, ['netem', 'helper'], 'the fakes below assume this table order');
  const t = table({ netem: { ok: true, cannot: (p) => p.downlink.loss.kind === 'burst' }, helper: { ok: true } });
  const both = await resolveBackend('auto', [plain, burst], t);
  assert.equal(both.name, 'helper');
  assert.match(both.why, /netem: usable, but netem cannot do this profile/);
  // every cell within netem's reach: the table's first choice stays
  assert.equal((await resolveBackend('auto', [plain], t)).name, 'netem');
  // nobody else usable: the first usable backend, its cells UNSUPPORTED
  const only = await resolveBackend('auto', [plain, burst], table({ netem: { ok: true, cannot: (p) => p.downlink.loss.kind === 'burst' }, helper: { ok: false } }));
  assert.equal(only.name, 'netem');
  assert.match(only.why, /UNSUPPORTED/);
  // an explicit choice is never second-guessed
  assert.equal((await resolveBackend('netem', [burst], t)).name, 'netem');
  await assert.rejects(resolveBackend('auto', [plain], table({ netem: { ok: false }, helper: { ok: false } })), /no impairment backend is usable: netem: netem missing; helper: helper missing/);
});
