// Which bundled external servers this machine has, their versions and (nginx) whether the
// build has HTTP/3: read by the runner (run.json, UNSUPPORTED reasons) and `holbench doctor`.
import { haveCommand, run } from '../../proc/exec.ts';

export type BundledServer = 'caddy' | 'nginx';

/** Debian package of each bundled server. */
export const SERVER_PACKAGE: Record<BundledServer, string> = { caddy: 'caddy', nginx: 'nginx-light' };

export interface ServerInstall {
  installed: boolean;
  /** `caddy version`'s line, or nginx's version (nginx/1.22.1); null when not installed */
  version: string | null;
  /** the build speaks HTTP/3 (Caddy always; nginx when built with ngx_http_v3_module) */
  http3: boolean;
}

export async function serverInstall(name: BundledServer): Promise<ServerInstall> {
  if (!(await haveCommand(name))) return { installed: false, version: null, http3: false };
  if (name === 'caddy') return { installed: true, version: (await run('caddy', ['version'], { allowFail: true })).stdout.trim() || 'unknown', http3: true };
  const v = await run('nginx', ['-V'], { allowFail: true });
  const build = v.stderr + v.stdout;
  return { installed: true, version: /nginx version: (\S+)/.exec(build)?.[1] ?? 'unknown', http3: /--with-http_v3_module/.test(build) };
}

/** Why nginx cannot serve h3 here (UNSUPPORTED reason and doctor's detail). */
export const nginxNoH3 = (version: string | null) =>
  `${version ?? 'nginx'} has no HTTP/3: built without ngx_http_v3_module (Debian 12's nginx is 1.22; HTTP/3 needs nginx >= 1.25 built --with-http_v3_module)`;
