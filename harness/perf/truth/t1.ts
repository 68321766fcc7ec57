// T1, handshakes: at 0% loss and RTT 20/100/300 ms (--quick: 100 ms), cold connections:
// TTFB(h2) - TTFB(h3) is one RTT +-30% (TCP 1 RTT + TLS 1.3 1 RTT before the request, QUIC
// 1 RTT); resumed: h3's 0-RTT request gets its first byte one RTT (+-30%) sooner than cold,
// with 0-RTT accepted on every repetition. Small objects and no rate limit, so TTFB is
// round trips, not transfer.
import { fmt as f, median, type Check } from './check.ts';
import { runScenario } from './pages.ts';

export async function runT1(o: { quick?: boolean; outRoot: string }): Promise<Check[]> {
  const reps = o.quick ? 3 : 5;
  const rtts = o.quick ? [100] : [20, 100, 300];
  const g = 'T1';
  const rows = await runScenario('truth-handshake', {
    protocols: ['h2', 'h3'], workload: { kind: 'page', objects: 4, object_bytes: 1000 },
    network: {}, sweep: { rtt_ms: rtts, connection: ['cold', 'resumed'] }, repetitions: reps, seed: 11,
  }, o.outRoot);
  const ttfb = (rtt: number, mode: string, p: string) => {
    const rs = rows.filter((r) => r.rtt_ms === rtt && r.connection === mode && r.protocol === p && r.status === 'SUCCEEDED');
    return { n: rs.length, ttfb: median(rs.map((r) => r.ttfb_p50_ms).filter((x): x is number => x !== null)), rows: rs };
  };
  const checks: Check[] = [];
  for (const rtt of rtts) {
    const [c2, c3, r3] = [ttfb(rtt, 'cold', 'h2'), ttfb(rtt, 'cold', 'h3'), ttfb(rtt, 'resumed', 'h3')];
    const d = c2.ttfb - c3.ttfb;
    checks.push({
      group: g,
      name: `T1 cold TTFB(h2) - TTFB(h3), RTT ${rtt} ms`,
      expectation: `${rtt} ms +-30%`,
      measured: `${f(d, 1)} ms (h2 ${f(c2.ttfb, 1)}, h3 ${f(c3.ttfb, 1)}; median TTFB, n=${c2.n}, ${c3.n})`,
      reference: `${rtt} ms (one RTT)`,
      source: 'TCP 1 RTT + TLS 1.3 1 RTT vs QUIC 1 RTT before the request: RFC 9293 3.5, RFC 8446 2, RFC 9000 7',
      pass: c2.n && c3.n ? Math.abs(d - rtt) <= 0.3 * rtt : null,
    });
    const saved = c3.ttfb - r3.ttfb;
    const accepted = r3.rows.filter((r) => r.zero_rtt === 1).length;
    checks.push({
      group: g,
      name: `T1 h3 0-RTT saves one RTT, RTT ${rtt} ms`,
      expectation: `cold - resumed TTFB(h3) = ${rtt} ms +-30%, 0-RTT accepted on every repetition`,
      measured: `${f(saved, 1)} ms (cold ${f(c3.ttfb, 1)}, resumed ${f(r3.ttfb, 1)}); zero_rtt=1 in ${accepted} of ${r3.n}`,
      reference: `${rtt} ms (one RTT)`,
      source: 'RFC 9001 4.6 (0-RTT), RFC 8446 2.3',
      pass: c3.n && r3.n ? Math.abs(saved - rtt) <= 0.3 * rtt && accepted === r3.n : null,
    });
  }
  return checks;
}
