// The client agent: runs inside the client namespace, started by the runner with an IPC
// channel, and executes one job at a time: build the protocol's driver, run the workload,
// close the driver, send the records back. It exits when the runner goes away.
import type { ProtocolSpec } from './scenario/load.ts';
import type { Workload } from './scenario/schema.ts';
import type { DriverTarget } from './drivers/types.ts';
import type { ChunkRow, RequestRow } from './records.ts';
import { driverFor } from './drivers/registry.ts';
import { Recorder } from './recorder.ts';
import { runPage, type PageResult } from './workloads/page.ts';
import { runLoad, type LoadResult } from './workloads/load.ts';

export interface Job {
  type: 'job';
  id: number;
  cell: string;
  rep: number;
  protocol: ProtocolSpec;
  target: DriverTarget;
  workload: Workload;
  requestTimeoutMs: number;
  jobTimeoutMs: number;
  quicCc: string;
}

export interface JobResult {
  type: 'result';
  id: number;
  status: 'SUCCEEDED' | 'FAILED' | 'UNSUPPORTED';
  reason: string;
  connectionsOpened: number;
  bytes: number;
  elapsedMs: number;
  page?: PageResult;
  load?: LoadResult;
  requests: RequestRow[];
  chunks: ChunkRow[];
}

export async function runJob(job: Job): Promise<JobResult> {
  const rec = new Recorder({
    cell: job.cell,
    protocol: job.protocol.label,
    rep: job.rep,
    keepChunks: job.workload.kind === 'page',
    keepRequests: job.workload.kind === 'page',
  });
  const base = { type: 'result' as const, id: job.id, connectionsOpened: 0, bytes: 0, elapsedMs: 0, requests: rec.requests, chunks: rec.chunks };
  let factory;
  try {
    factory = await driverFor(job.protocol.protocol);
  } catch (e) {
    return { ...base, status: 'UNSUPPORTED', reason: (e as Error).message.split('\n')[0]! };
  }
  const driver = await factory({ target: job.target, connections: job.protocol.connections, requestTimeoutMs: job.requestTimeoutMs, quicCc: job.quicCc });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${job.jobTimeoutMs / 1000} s`)), job.jobTimeoutMs);
  });
  try {
    const work: Promise<{ page?: PageResult; load?: LoadResult }> =
      job.workload.kind === 'page' ? runPage(driver, job.workload, rec).then((page) => ({ page })) : runLoad(driver, job.workload, rec).then((load) => ({ load }));
    const out = await Promise.race([work, timeout]);
    const failed = out.page ? out.page.failed : 0;
    const ok = out.page ? failed === 0 : out.load!.requests > 0 && out.load!.errors < out.load!.requests;
    return {
      ...base,
      ...out,
      status: ok ? 'SUCCEEDED' : 'FAILED',
      reason: ok ? '' : out.page ? `${failed} of ${out.page.objects} objects failed: ${rec.requests.find((r) => r.error)?.error ?? ''}` : `${out.load!.errors} errors in ${out.load!.requests} requests`,
      connectionsOpened: driver.connectionsOpened(),
      bytes: rec.bytes,
      elapsedMs: rec.now(),
    };
  } catch (e) {
    return { ...base, status: 'FAILED', reason: (e as Error).message.split('\n')[0]!, connectionsOpened: driver.connectionsOpened(), bytes: rec.bytes, elapsedMs: rec.now() };
  } finally {
    clearTimeout(timer);
    await Promise.race([driver.close(), new Promise((r) => setTimeout(r, 5000))]);
  }
}

if (process.send && process.argv[1]?.endsWith('agent.ts')) {
  process.on('message', async (m: Job | { type: 'exit' }) => {
    if (m.type === 'exit') process.exit(0);
    if (m.type === 'job') process.send!(await runJob(m));
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
