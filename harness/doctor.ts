// `holbench doctor`: can this machine run holbench, and what should be installed if not.
import { release } from 'node:os';
import { haveCommand, run } from '../proc/exec.ts';
import { BACKEND_NAMES, BACKEND_TABLE, backendAvailability } from '../netem/backends/index.ts';
import { nginxNoH3, SERVER_PACKAGE, serverInstall } from './extservers/installed.ts';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export async function doctor(json: boolean): Promise<number> {
  const checks: Check[] = [];
  /** checks only some features need (printed `--` when failing; never make the machine unready) */
  const optional = new Set<Check>();
  const add = (name: string, ok: boolean, detail: string, fix?: string) => checks.push({ name, ok, detail, fix: ok ? undefined : fix });
  const addOptional = (name: string, ok: boolean, detail: string, fix?: string) => optional.add(checks[add(name, ok, detail, fix) - 1]!);
  add('root', process.getuid?.() === 0, process.getuid?.() === 0 ? 'running as root' : `uid ${process.getuid?.()}`, 'run as root (namespaces, iptables and tc need CAP_NET_ADMIN)');
  add('node', Number(process.versions.node.split('.')[0]) >= 20, process.version, 'install Node.js 20 or newer');
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['tc', 'iproute2'], ['iptables', 'iptables'], ['ethtool', 'ethtool'], ['openssl', 'openssl']] as const) {
    const ok = await haveCommand(cmd);
    add(cmd, ok, ok ? 'found' : 'missing', `apt-get install ${pkg}`);
  }
  const cc = (await haveCommand('cc')) || (await haveCommand('gcc'));
  add('C compiler', cc, cc ? 'found (builds the NFQUEUE helper)' : 'missing', 'apt-get install gcc libc6-dev linux-libc-dev');
  const ccAvail = (await run('sysctl', ['-n', 'net.ipv4.tcp_available_congestion_control'], { allowFail: true })).stdout.trim();
  add('TCP congestion control', /cubic/.test(ccAvail), `available: ${ccAvail || 'unknown'}`, 'a kernel with tcp_cubic (default in Linux)');
  for (const b of BACKEND_NAMES) {
    let a;
    try {
      a = await backendAvailability(b);
    } catch (e) {
      a = { ok: false, reason: (e as Error).message };
    }
    addOptional(`backend ${b}`, a.ok, a.ok ? `usable: ${BACKEND_TABLE[b].summary}` : a.reason, BACKEND_TABLE[b].fix);
  }
  try {
    const { h3Support } = await import('../h3/index.ts');
    const s = h3Support();
    addOptional('h3 (quiche binding)', s.ok, s.ok ? 'loads' : (s.reason ?? 'unknown'), 'HTTP/3 needs @matrixai/quic-linux-x64 (linux x64 only); h3 cells are reported UNSUPPORTED');
  } catch (e) {
    addOptional('h3 (quiche binding)', false, (e as Error).message.split('\n')[0]!, 'HTTP/3 cells will be reported UNSUPPORTED');
  }
  const chromium = await haveCommand('chromium');
  addOptional('chromium (client, report test)', chromium, chromium ? 'found' : 'missing', 'apt-get install chromium (scenarios with client: chromium and the report test need it; without it those jobs are UNSUPPORTED)');
  for (const name of ['caddy', 'nginx'] as const) {
    const i = await serverInstall(name);
    const detail = !i.installed ? 'missing' : `${i.version}${name === 'nginx' ? (i.http3 ? ', with HTTP/3' : `; h3@nginx is UNSUPPORTED: ${nginxNoH3(i.version)}`) : ''}`;
    addOptional(`${name} (server: ${name})`, i.installed, detail, `apt-get install ${SERVER_PACKAGE[name]} (only protocol entries with server: ${name} need it; without it those jobs are UNSUPPORTED)`);
  }
  // optional tools: only the features named need them
  for (const [cmd, pkg, what] of [['iperf3', 'iperf3', 'cross_traffic'], ['conntrack', 'conntrack', 'nat'], ['tshark', 'tshark', 'capture analysis'], ['tcpdump', 'tcpdump', 'capture'], ['sbatch', 'slurm-client', 'holbench slurm --submit']] as const) {
    const ok = await haveCommand(cmd);
    addOptional(`${cmd} (${what})`, ok, ok ? 'found' : 'missing', `apt-get install ${pkg} (only ${what} needs it)`);
  }
  const essential = checks.filter((c) => !optional.has(c));
  const anyBackend = checks.some((c) => c.name.startsWith('backend') && c.ok);
  const ok = essential.every((c) => c.ok) && anyBackend;
  if (json) process.stdout.write(JSON.stringify({ ok, kernel: release(), checks }, null, 2) + '\n');
  else {
    process.stdout.write(`kernel ${release()}\n`);
    for (const c of checks) process.stdout.write(`${c.ok ? ' ok ' : optional.has(c) ? ' -- ' : 'FAIL'}  ${c.name.padEnd(28)} ${c.detail}${c.fix ? `\n      -> ${c.fix}` : ''}\n`);
    process.stdout.write(ok ? '\nready to run.\n' : '\nnot ready: fix the FAIL lines above.\n');
  }
  return ok ? 0 : 1;
}
