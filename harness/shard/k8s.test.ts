// holbench k8s: no cluster runs here, so the generated objects are checked against the
// Kubernetes API schema (kubernetes-models validate()) and for what the run needs: an
// Indexed Job of N completions whose pods run --shard auto with the shard count, the
// capabilities namespaces/tc/iptables need (with the reason next to them), one volume claim
// shared by the shards and the merge Job, and the scenario in a ConfigMap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { loadScenario } from '../scenario/load.ts';
import { holbench } from '../testdata/cli.ts';
import { parseShard } from './partition.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const SCENARIO = new URL('./testdata/shard-tiny.yaml', import.meta.url).pathname;
const MODELS = { ConfigMap, PersistentVolumeClaim, Job } as const;

test('k8s: the generated objects pass the API schema and carry what a shard needs', async (t) => {
  const tmp = await tempDir('holbench-k8s-test-');
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const sc = await loadScenario(SCENARIO);
  const units = sc.cells.length * sc.scenario.repetitions;
  const N = 3;
  const r = await holbench(['k8s', SCENARIO, '--shards', String(N), '--image', 'registry.example/holbench:1', '--out', tmp, '--namespace', 'bench', '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.equal(plan.units, units);
  const text = await readFile(plan.shardsFile, 'utf8');
  const docs = [...YAML.parseAllDocuments(text), ...YAML.parseAllDocuments(await readFile(plan.mergeFile, 'utf8'))].map((d) => d.toJS());
  assert.deepEqual(docs.map((d) => d.kind), ['ConfigMap', 'PersistentVolumeClaim', 'Job', 'Job']);
  // every object, as written, against the API schema
  for (const d of docs) new MODELS[d.kind as keyof typeof MODELS](d).validate();
  const [config, claim, shards, merge] = docs;
  for (const d of docs) assert.equal(d.metadata.namespace, 'bench');

  assert.equal(shards.spec.completionMode, 'Indexed');
  assert.equal(shards.spec.completions, N);
  assert.equal(shards.spec.parallelism, N);
  const pod = shards.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(c.image, 'registry.example/holbench:1');
  assert.deepEqual(c.args.slice(0, 4), ['run', `/scenario/${SCENARIO.split('/').pop()}`, '--shard', 'auto']);
  // what --shard auto reads in pod k (Kubernetes sets JOB_COMPLETION_INDEX=k)
  const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  for (let k = 0; k < N; k++) assert.deepEqual(parseShard('auto', { ...env, JOB_COMPLETION_INDEX: String(k) }), { index: k + 1, count: N });
  // capabilities for namespaces, tc, iptables, with the reason in a comment next to them
  const sec = c.securityContext;
  assert.ok(sec.privileged === true || ['NET_ADMIN', 'SYS_ADMIN'].every((cap) => sec.capabilities?.add?.includes(cap)), JSON.stringify(sec));
  assert.deepEqual(sec.capabilities.add, ['NET_ADMIN', 'SYS_ADMIN']);
  const secAt = text.indexOf('securityContext:');
  assert.match(text.slice(secAt, secAt + 1200), /NET_ADMIN .*iptables[\s\S]*SYS_ADMIN .*ip netns[\s\S]*privileged: .*\/proc\/sys/);
  // the scenario travels in the ConfigMap, mounted where the args look for it
  assert.equal(config.data[SCENARIO.split('/').pop()!], await readFile(SCENARIO, 'utf8'));
  const mountOf = (spec: any, ctr: any, kind: string) => ctr.volumeMounts.find((m: any) => spec.volumes.find((v: any) => v.name === m.name)?.[kind]);
  assert.equal(pod.volumes.find((v: any) => v.configMap)?.configMap.name, config.metadata.name);
  assert.ok(c.args[1].startsWith(mountOf(pod, c, 'configMap').mountPath + '/'));
  // one claim for the shards and the merge; the merge reads where the shards write
  assert.equal(claim.spec.accessModes[0], 'ReadWriteMany');
  const mpod = merge.spec.template.spec;
  for (const spec of [pod, mpod]) assert.equal(spec.volumes.find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName, claim.metadata.name);
  const shardOut = c.args[c.args.indexOf('--out') + 1];
  const m = mpod.containers[0];
  assert.equal(m.args[0], 'merge');
  assert.equal(m.args[m.args.indexOf('--from') + 1], shardOut);
  assert.ok(shardOut.startsWith(mountOf(pod, c, 'persistentVolumeClaim').mountPath + '/'));
  for (const d of docs) assert.ok(d.metadata.name.length <= 63 && /^[a-z0-9-]+$/.test(d.metadata.name), d.metadata.name);

  // the validator can fail: a wrong type is refused
  assert.throws(() => new Job({ ...shards, spec: { ...shards.spec, completions: String(N) } }).validate(), /completions must be integer/);
});

test('k8s and slurm: bad input exits 2 and writes nothing', async (t) => {
  const tmp = await tempDir('holbench-k8s-bad-');
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['k8s', SCENARIO, '--shards', '5', '--image', 'x/y:1'], /only 4 unit/],
    [['k8s', SCENARIO, '--shards', '0', '--image', 'x/y:1'], /--shards: expected an integer/],
    [['k8s', SCENARIO, '--shards', '2'], /--image/],
    [['k8s', SCENARIO, '--shards', '2', '--image', 'x/y:1', '--parallelism', '3'], /--parallelism/],
    [['slurm', SCENARIO, '--shards', '5'], /only 4 unit/],
    [['slurm', SCENARIO, '--shards', 'a'], /--shards: expected an integer/],
    [['slurm', SCENARIO, '--shards', '2', '--partition', 'a b'], /--partition/],
    [['slurm', join(tmp, 'none.yaml'), '--shards', '2'], /cannot read/],
  ];
  for (const [args, re] of cases) {
    const r = await holbench([...args, '--out', join(tmp, 'out')], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.deepEqual(await readdir(tmp), [], 'nothing written');
});
