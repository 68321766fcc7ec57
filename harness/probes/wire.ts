// Bytes on the client's veth around a job (L2 frames both ways: headers, ACKs, handshakes,
// polls, heartbeats), and for messages workloads the bytes per message received.
import { run } from '../../proc/exec.ts';
import type { JobProbe } from './types.ts';

/** Ethernet + IPv4 + TCP header bytes of a frame with the timestamp option (every segment
 *  after the handshake on Linux); SYNs carry a few more, counted as payload. */
export const TCP_FRAME_OVERHEAD = 14 + 20 + 20 + 12;
/** Ethernet + IPv4 + UDP header bytes (QUIC). */
export const UDP_FRAME_OVERHEAD = 14 + 20 + 8;

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** L2 byte counters of a namespace's eth0 (tx = towards the router). */
async function vethBytes(ns: string): Promise<{ tx: number; rx: number; packets: number } | null> {
  const r = await run('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'dev', 'eth0'], { allowFail: true });
  if (r.exitCode !== 0) return null;
  const st = (JSON.parse(r.stdout) as { stats64?: { tx: { bytes: number; packets: number }; rx: { bytes: number; packets: number } } }[])[0]?.stats64;
  return st ? { tx: Number(st.tx.bytes), rx: Number(st.rx.bytes), packets: Number(st.tx.packets) + Number(st.rx.packets) } : null;
}

/** wire_bytes_up, wire_bytes_down; messages: wire_bytes_per_msg, payload_bytes_per_msg (the
 *  per-frame headers of the transport the server reported removed) */
export const wireBytes: JobProbe = {
  name: 'wire bytes',
  applies: () => true,
  async start(ctx) {
    const before = await vethBytes(ctx.topo.ns.client);
    return {
      async finish(result) {
        const after = await vethBytes(ctx.topo.ns.client);
        if (!before || !after) return { columns: {} };
        const up = after.tx - before.tx;
        const down = after.rx - before.rx;
        const frames = after.packets - before.packets;
        const received = result.messages?.received ?? 0;
        const header = ctx.transport === 'udp' ? UDP_FRAME_OVERHEAD : TCP_FRAME_OVERHEAD;
        return {
          columns: {
            wire_bytes_up: up,
            wire_bytes_down: down,
            wire_bytes_per_msg: received ? r3((up + down) / received) : null,
            payload_bytes_per_msg: received ? r3((up + down - header * frames) / received) : null,
          },
        };
      },
    };
  },
};
