// `holbench k8s <scenario> --shards N --image IMG`: Kubernetes objects for a sharded run,
// written as YAML into <out>/<name>-<stamp>.k8s/:
//   shards.yaml  a ConfigMap with the scenario file, the shared PersistentVolumeClaim, and an
//                Indexed Job (completionMode Indexed, completions N): pod k runs
//                holbench run --shard auto (JOB_COMPLETION_INDEX k, HOLBENCH_SHARD_COUNT N)
//   merge.yaml   the merge Job: holbench merge --from <shards> --out <run> (+ report)
// Kubernetes has no "start this Job when that one completed"; the recipe (printed, and in the
// README) is kubectl apply shards.yaml, kubectl wait --for=condition=complete, kubectl apply
// merge.yaml. The objects are built from kubernetes-models' typed classes (tsc refuses an
// unknown field) and validated against the API schema (validate()) before anything is written.
import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import YAML from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim, type IContainer, type IPodSpec } from 'kubernetes-models/v1';
import { safeText } from '../safetext.ts';
import { MAX_SHARDS } from './partition.ts';
import { badInputExit, mergeArgs, planShardedRun, runFlags, shardRunArgs } from './jobs.ts';

const USAGE = `usage: holbench k8s <scenario.yaml> --shards N --image IMG [--out DIR] [--namespace NS]
                   [--parallelism P] [--storage SIZE] [--storage-class C] [--repetitions N]
                   [--backend B] [--share-nodes] [--json]

Writes shards.yaml (ConfigMap with the scenario, PersistentVolumeClaim, Indexed Job of N
shards) and merge.yaml (the merge Job) into DIR/<name>-<stamp>.k8s/ (DIR default results/).
The image is built from deploy/Containerfile. Then:
  kubectl apply -f shards.yaml
  kubectl wait --for=condition=complete --timeout=24h job/<shards job>
  kubectl apply -f merge.yaml

  --parallelism P    shards running at once (default N)
  --storage SIZE     size of the results volume (default 10Gi; ReadWriteMany)
  --storage-class C  storage class of the volume (default: the cluster's default)
  --share-nodes      allow two shards on one node (default: one shard per node)
`;

/** Where things are mounted in the pods. */
const RESULTS_MOUNT = '/results';
const SCENARIO_MOUNT = '/scenario';

export interface K8sOptions {
  scenarioFile: string;
  shards: number;
  image: string;
  outRoot?: string;
  namespace?: string;
  parallelism?: number;
  storage?: string;
  storageClass?: string;
  repetitions?: number;
  backend?: string;
  shareNodes?: boolean;
  stamp?: string;
}

export interface K8sPlan {
  dir: string;
  shardsFile: string;
  mergeFile: string;
  shardsJob: string;
  mergeJob: string;
  claim: string;
  /** the merged results folder on the volume */
  mergedPath: string;
  shards: number;
  units: number;
}

/** A DNS-1123 label from free text: lowercase letters, digits and '-', at most `max`. */
export function dnsLabel(s: string, max = 63): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, max).replace(/-+$/, '') || 'x';
}

/** Why the shard pods need what they ask for (kept next to the field in the YAML). */
export const SECURITY_COMMENT = [
  ' holbench builds network namespaces, veth pairs, tc qdiscs and iptables rules in the pod:',
  '   NET_ADMIN  veth, addresses, routes, tc (netem/tbf), iptables and the NFQUEUE helper',
  '   SYS_ADMIN  ip netns add/exec (mount namespaces, bind mounts under /run/netns)',
  ' privileged: the run also writes per-namespace sysctls under /proc/sys (TCP congestion',
  ' control, forwarding), which container runtimes mount read-only in unprivileged pods.',
  ' The node kernel must have the modules loaded (pods cannot modprobe): sch_netem for the',
  ' netem backend, or nfnetlink_queue, xt_NFQUEUE, xt_statistic and iptable_filter/mangle',
  ' for the helper backend; veth and sch_tbf for both.',
].join('\n');

function shardPod(o: K8sOptions, names: { claim: string; config: string; runLabel: string }, tag: string): IPodSpec {
  const container: IContainer = {
    name: 'holbench',
    image: o.image,
    args: shardRunArgs(`${SCENARIO_MOUNT}/${basename(o.scenarioFile)}`, `${RESULTS_MOUNT}/${tag}/shards`, o),
    // Kubernetes sets JOB_COMPLETION_INDEX; the shard count is ours to pass
    env: [{ name: 'HOLBENCH_SHARD_COUNT', value: String(o.shards) }],
    securityContext: { privileged: true, runAsUser: 0, capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN'] } },
    volumeMounts: [{ name: 'results', mountPath: RESULTS_MOUNT }, { name: 'scenario', mountPath: SCENARIO_MOUNT, readOnly: true }],
  };
  return {
    restartPolicy: 'Never',
    containers: [container],
    volumes: [{ name: 'results', persistentVolumeClaim: { claimName: names.claim } }, { name: 'scenario', configMap: { name: names.config } }],
    // like Slurm's --exclusive: a benchmark measures its node, so one shard per node
    ...(o.shareNodes ? {} : {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'holbench/run': names.runLabel } }, topologyKey: 'kubernetes.io/hostname' }] } },
    }),
  };
}

/** Build, validate and write the objects. Throws ScenarioError / ShardError / OutPathError
 *  (bad input) before anything is written. */
export async function writeK8sJobs(o: K8sOptions): Promise<K8sPlan> {
  const { loaded, units, root, tag, stamp } = await planShardedRun(o);
  // object names: DNS labels of at most 51 + 8 characters (Job names must stay under 63)
  const base = dnsLabel(`holbench-${loaded.name}`, 34) + `-${dnsLabel(stamp, 16)}`;
  const names = { claim: `${base}-results`, config: `${base}-scenario`, shards: `${base}-shards`, merge: `${base}-merge`, runLabel: base };
  const meta = (name: string) => ({ name, ...(o.namespace ? { namespace: o.namespace } : {}), labels: { 'app.kubernetes.io/name': 'holbench', 'holbench/run': names.runLabel } });
  const config = new ConfigMap({ metadata: meta(names.config), data: { [basename(o.scenarioFile)]: readFileSync(o.scenarioFile, 'utf8') } });
  const claim = new PersistentVolumeClaim({
    metadata: meta(names.claim),
    spec: {
      // shards on different nodes write to it at once
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: o.storage ?? '10Gi' } },
      ...(o.storageClass ? { storageClassName: o.storageClass } : {}),
    },
  });
  const shardsJob = new Job({
    metadata: meta(names.shards),
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.parallelism ?? o.shards,
      // a failed shard is looked at, not silently re-run (a re-run would leave a second,
      // partial folder for the same units, which holbench merge refuses as duplicates)
      backoffLimit: 0,
      template: { metadata: { labels: { 'holbench/run': names.runLabel } }, spec: shardPod(o, names, tag) },
    },
  });
  const mergeJob = new Job({
    metadata: meta(names.merge),
    spec: {
      completions: 1,
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'holbench/run': names.runLabel } },
        spec: {
          restartPolicy: 'Never',
          containers: [{
            name: 'merge',
            image: o.image,
            args: mergeArgs(`${RESULTS_MOUNT}/${tag}/shards`, `${RESULTS_MOUNT}/${tag}/${tag}`, `${RESULTS_MOUNT}/${tag}/reports`),
            volumeMounts: [{ name: 'results', mountPath: RESULTS_MOUNT }],
          }],
          volumes: [{ name: 'results', persistentVolumeClaim: { claimName: names.claim } }],
        },
      },
    },
  });
  // a schema failure here is a bug in this file, not bad input
  for (const obj of [config, claim, shardsJob, mergeJob]) obj.validate();

  const doc = (obj: { toJSON(): unknown }, comment: string, at?: { path: (string | number)[]; comment: string }) => {
    const d = new YAML.Document(obj.toJSON());
    d.commentBefore = comment;
    if (at) (d.getIn(at.path, true) as YAML.Node).commentBefore = at.comment;
    return d.toString({ lineWidth: 0 });
  };
  const securityPath = ['spec', 'template', 'spec', 'containers', 0, 'securityContext'];
  const shardsYaml = [
    doc(config, ` holbench ${tag}: the scenario file every shard runs`),
    doc(claim, ' results of every shard and of the merge (ReadWriteMany: shards run on several nodes)'),
    doc(shardsJob, ` ${o.shards} shards of ${units} (cell, repetition) units (round-robin, harness/shard/partition.ts); pod k runs shard k+1\n image: built from deploy/Containerfile`, { path: securityPath, comment: SECURITY_COMMENT }),
  ].join('---\n');
  const mergeYaml = doc(mergeJob, ` apply after job/${names.shards} completed:\n   kubectl wait --for=condition=complete --timeout=24h job/${names.shards} && kubectl apply -f merge.yaml\n merged results: ${RESULTS_MOUNT}/${tag}/${tag}, report: ${RESULTS_MOUNT}/${tag}/reports/${tag} (on the volume ${names.claim})`);
  const dir = join(root, `${tag}.k8s`);
  mkdirSync(dir, { recursive: true });
  const shardsFile = join(dir, 'shards.yaml');
  const mergeFile = join(dir, 'merge.yaml');
  writeFileSync(shardsFile, shardsYaml);
  writeFileSync(mergeFile, mergeYaml);
  return { dir, shardsFile, mergeFile, shardsJob: names.shards, mergeJob: names.merge, claim: names.claim, mergedPath: `${RESULTS_MOUNT}/${tag}/${tag}`, shards: o.shards, units };
}

export async function k8sCommand(argv: string[]): Promise<number> {
  const err = (m: string) => (process.stderr.write(`holbench k8s: ${safeText(m)}\n`), 2);
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { shards: { type: 'string' }, image: { type: 'string' }, out: { type: 'string' }, namespace: { type: 'string' }, parallelism: { type: 'string' }, storage: { type: 'string' }, 'storage-class': { type: 'string' }, repetitions: { type: 'string' }, backend: { type: 'string' }, 'share-nodes': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    return (err((e as Error).message), process.stderr.write(`\n${USAGE}`), 2);
  }
  if (values.help) return (process.stdout.write(USAGE), 0);
  if (positionals.length !== 1) return (err(`expected one scenario file, got ${positionals.length}`), process.stderr.write(`\n${USAGE}`), 2);
  const int = (s: string | undefined) => (/^[0-9]{1,6}$/.test(s ?? '') ? Number(s) : NaN);
  const shards = int(values.shards);
  if (!(shards >= 1 && shards <= MAX_SHARDS)) return err(`--shards: expected an integer from 1 to ${MAX_SHARDS}, got "${values.shards ?? ''}"`);
  if (!values.image || !/^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,254}$/.test(values.image)) return err(`--image: expected an image reference such as registry.example/holbench:1, got "${values.image ?? ''}"`);
  const parallelism = values.parallelism === undefined ? undefined : int(values.parallelism);
  if (parallelism !== undefined && !(parallelism >= 1 && parallelism <= shards)) return err(`--parallelism: expected an integer from 1 to ${shards}`);
  if (values.namespace !== undefined && values.namespace !== dnsLabel(values.namespace)) return err(`--namespace: not a namespace name (lowercase letters, digits, -): "${values.namespace}"`);
  if (values.storage !== undefined && !/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.test(values.storage)) return err(`--storage: expected a quantity such as 10Gi, got "${values.storage}"`);
  if (values['storage-class'] !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(values['storage-class'])) return err(`--storage-class: not a storage class name: "${values['storage-class']}"`);
  const flags = runFlags(values);
  if ('problem' in flags) return err(flags.problem);
  let plan: K8sPlan;
  try {
    plan = await writeK8sJobs({
      scenarioFile: positionals[0]!, shards, image: values.image, outRoot: values.out, namespace: values.namespace, parallelism,
      storage: values.storage, storageClass: values['storage-class'], repetitions: flags.repetitions, backend: flags.backend, shareNodes: values['share-nodes'],
    });
  } catch (e) {
    return badInputExit(e, shards, err);
  }
  if (values.json) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
  else {
    const ns = values.namespace ? ` -n ${values.namespace}` : '';
    process.stdout.write(`wrote ${safeText(plan.shardsFile)} (${plan.shards} shards of ${plan.units} units) and ${safeText(basename(plan.mergeFile))}\nrun:\n` +
      `  kubectl${ns} apply -f ${safeText(plan.shardsFile)}\n  kubectl${ns} wait --for=condition=complete --timeout=24h job/${plan.shardsJob}\n  kubectl${ns} apply -f ${safeText(plan.mergeFile)}\n` +
      `merged results on the volume ${plan.claim}: ${plan.mergedPath}\n`);
  }
  return 0;
}
