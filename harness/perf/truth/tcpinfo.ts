// Parsers for the two kernel views T4 reads in the sender's namespace: `ss -tinH` (one
// socket's tcp_info) and /proc/net/netstat (per-namespace TcpExt counters). Pure.

export interface SsSocket {
  /** local and peer "addr:port" */
  local: string;
  peer: string;
  cc: string;
  rtoMs: number;
  srttMs: number;
  rttvarMs: number;
  mssBytes: number;
  cwndPkts: number;
  /** null while ssthresh is still "infinite", i.e. before the first loss event */
  ssthreshPkts: number | null;
  /** bytes cumulatively ACKed by the peer (tcpi_bytes_acked) */
  bytesAcked: number;
  /** bytes sent, retransmissions included (tcpi_bytes_sent) */
  bytesSent: number;
  /** data segments sent, retransmissions included (tcpi_data_segs_out) */
  dataSegsOut: number;
  /** total retransmitted segments (second number of retrans:a/b) */
  retransTotal: number;
  /** the peer's advertised receive window, bytes (tcpi_snd_wnd; null on older ss) */
  sndWndBytes: number | null;
}

const num = (s: string | undefined): number | null => (s === undefined ? null : Number(s));

/** Parse `ss -tinH` output: a header line per socket ("Recv-Q Send-Q local peer") followed
 *  by an indented info line. Sockets without an info line are skipped. */
export function parseSs(text: string): SsSocket[] {
  const lines = text.split('\n');
  const out: SsSocket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!.trim().split(/\s+/);
    const info = lines[i + 1];
    if (head.length < 4 || !/^\d+$/.test(head[0]!) || info === undefined || !/^\s/.test(info)) continue;
    i++;
    const kv = new Map<string, string>();
    const words = info.trim().split(/\s+/);
    for (const w of words) {
      const c = w.indexOf(':');
      if (c > 0) kv.set(w.slice(0, c), w.slice(c + 1));
    }
    const [srtt, rttvar] = (kv.get('rtt') ?? '').split('/');
    const retrans = (kv.get('retrans') ?? '0/0').split('/');
    const need = (k: string): number => {
      const v = num(kv.get(k));
      if (v === null || !Number.isFinite(v)) throw new Error(`ss output lacks ${k}: ${info.trim()}`);
      return v;
    };
    out.push({
      local: head[head.length - 2]!,
      peer: head[head.length - 1]!,
      cc: words[0]!,
      rtoMs: need('rto'),
      srttMs: Number(srtt),
      rttvarMs: Number(rttvar),
      mssBytes: need('mss'),
      cwndPkts: need('cwnd'),
      ssthreshPkts: num(kv.get('ssthresh')),
      bytesAcked: num(kv.get('bytes_acked')) ?? 0,
      bytesSent: num(kv.get('bytes_sent')) ?? 0,
      dataSegsOut: num(kv.get('data_segs_out')) ?? 0,
      retransTotal: Number(retrans[1] ?? 0),
      sndWndBytes: num(kv.get('snd_wnd')),
    });
  }
  return out;
}

/** TcpExt counters from /proc/net/netstat (name line followed by a value line). */
export function parseTcpExt(text: string): Record<string, number> {
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) throw new Error('/proc/net/netstat: no TcpExt lines');
  const names = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  const out: Record<string, number> = {};
  names.forEach((n, i) => (out[n] = vals[i] ?? NaN));
  return out;
}

/** Congestion signals the sender reacted to: fast-recovery episodes (SACK or NewReno) plus
 *  retransmission timeouts. This is the "loss indication" count of PFTK and the number of
 *  window halvings in Mathis's sawtooth. */
export function lossIndications(tcpExt: Record<string, number>): { recoveries: number; timeouts: number } {
  const get = (k: string) => {
    const v = tcpExt[k];
    if (v === undefined || !Number.isFinite(v)) throw new Error(`TcpExt lacks ${k}`);
    return v;
  };
  return { recoveries: get('TCPSackRecovery') + get('TCPRenoRecovery'), timeouts: get('TCPTimeouts') };
}
