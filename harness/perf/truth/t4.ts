// Truth check T4: steady-state TCP Reno throughput under random loss against the
// closed-form models of Mathis et al. (1997) and Padhye et al. (PFTK, SIGCOMM'98).
//
// Setup (steady-tcp.ts): 2x25 ms (RTT 50 ms), no rate limit, random loss of 1% and 2% on
// the data direction only, a bulk transfer per repetition whose first `warmupS` seconds
// (and any time before the first loss event) are excluded. Reno is judged; CUBIC runs on
// the same loss seeds and is reported for information only. Every repetition is compared
// with the models evaluated at ITS OWN measured p, RTT and RTO; the check is on the mean of
// the per-repetition ratios measured/model (with its 95% CI).
//
// Which p: both models describe a sawtooth driven by congestion SIGNALS. Mathis's derivation
// has one loss per cycle (p = cycles per packet), and PFTK defines p as the rate of loss
// indications (triple-duplicate ACK or timeout) per packet sent. With SACK, several losses
// in one window are repaired in one fast recovery and halve the window once, so the signal
// rate is below the segment loss rate. T4 measures both: the segment loss rate from the
// impairment's own counters (downlink drops / downlink packets = data segments), and the
// signal rate from the sender namespace's counters ((TCPSackRecovery + TCPRenoRecovery +
// TCPTimeouts) / data segments sent). The judged lines use the signal rate, as the models
// define p; the lines with the segment loss rate are printed for information.
//
// Which constant: C = sqrt(3/2) (b = 1), because Linux Reno grows cwnd by the number of
// segments ACKed, not the number of ACKs (see tcp-model.ts), so delayed ACKs do not halve
// the growth rate. PFTK with b = 1, T0 = the sender's measured RTO (tcp_info rto), Wmax =
// the receiver's advertised window (tcp_info snd_wnd / MSS), against the SENDING rate
// (PFTK's B(p) counts retransmissions); Mathis against the goodput (bytes ACKed).
//
// Pass criterion: |mean(measured/model) - 1| <= TOLERANCE for each judged line.
// TOLERANCE is the project's: neither paper's own accuracy figure could be retrieved in
// this environment (no full text of either paper was reachable), so 25% is not a citation.
// PFTK report their fit as an "average error" over observations, mean |pred - obs| / obs;
// T4 prints that figure for each line so it can be set beside the paper's.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CongestionControl } from '../../../netem/topology.ts';
import { fmt, mean, meanCi, type Check } from './check.ts';
import { SteadyTcpBench, type SteadyTcpResult } from './steady-tcp.ts';
import { cubicBps, mathisBps, mathisC, pftkFullPps, ppsToBps } from './tcp-model.ts';

export const TOLERANCE = 0.25;
export const MIN_REPS = 5;

export interface T4Options {
  quick?: boolean;
  /** results/truth-<stamp>/T4 */
  outDir: string;
  backend?: 'auto' | 'helper' | 'netem';
}

export interface T4Plan {
  lossPcts: number[];
  delayMs: number;
  warmupS: number;
  measureS: number;
  renoReps: number;
  cubicReps: number;
}

export function t4Plan(quick: boolean): T4Plan {
  return quick
    ? { lossPcts: [1, 2], delayMs: 25, warmupS: 3, measureS: 12, renoReps: MIN_REPS, cubicReps: 3 }
    : { lossPcts: [1, 2], delayMs: 25, warmupS: 5, measureS: 30, renoReps: MIN_REPS, cubicReps: MIN_REPS };
}

const MATHIS_SRC = 'Mathis, Semke, Mahdavi, Ott, CCR 27(3) 1997: BW = MSS/RTT * C/sqrt(p), C = sqrt(3/(2b)), b = 1 (Linux Reno counts ACKed segments, tcp_cong_avoid_ai)';
const PFTK_SRC = 'Padhye, Firoiu, Towsley, Kurose, SIGCOMM 1998, full model (eq. 31): b = 1, T0 = measured RTO, Wmax = advertised window';
const CUBIC_SRC = 'RFC 8312 sec. 5.1: max(CUBIC window, Reno-friendly window sqrt(3/(2p)))';

/** The model values for one repetition, at its own measured parameters, bit/s. */
export function modelsFor(r: SteadyTcpResult) {
  const rttS = r.srttMs / 1000;
  const pftk = (p: number) => ppsToBps(pftkFullPps({ rttS, p, t0S: r.rtoMs / 1000, wmaxPkts: r.wmaxPkts, b: 1 }), r.mssBytes);
  const mathis = (p: number) => mathisBps({ mssBytes: r.mssBytes, rttS, p, c: mathisC(1) });
  return {
    mathisEvt: mathis(r.pEvt),
    mathisPkt: mathis(r.pPkt),
    pftkEvt: pftk(r.pEvt),
    pftkPkt: pftk(r.pPkt),
    cubic: cubicBps(r.mssBytes, rttS, r.pEvt),
  };
}

type ModelKey = keyof ReturnType<typeof modelsFor>;

interface Line {
  name: string;
  measuredKey: 'goodputBps' | 'sendBps';
  model: ModelKey;
  pLabel: string;
  source: string;
  judged: boolean;
}

const RENO_LINES: Line[] = [
  { name: 'Mathis', measuredKey: 'goodputBps', model: 'mathisEvt', pLabel: 'p = loss events', source: MATHIS_SRC, judged: true },
  { name: 'PFTK full', measuredKey: 'sendBps', model: 'pftkEvt', pLabel: 'p = loss indications', source: PFTK_SRC, judged: true },
  { name: 'Mathis', measuredKey: 'goodputBps', model: 'mathisPkt', pLabel: 'p = segment loss rate', source: MATHIS_SRC, judged: false },
  { name: 'PFTK full', measuredKey: 'sendBps', model: 'pftkPkt', pLabel: 'p = segment loss rate', source: PFTK_SRC, judged: false },
];

const mbit = (bps: number) => fmt(bps / 1e6, 2);
const pct = (x: number, d = 2) => `${fmt(100 * x, d)}%`;

/** Check rows for one congestion control and loss rate. Pure (used by the unit test too). */
export function t4Checks(cc: CongestionControl, lossPct: number, reps: SteadyTcpResult[]): Check[] {
  const ok = reps.filter((r) => r.steady && Number.isFinite(r.pEvt) && r.pEvt > 0);
  const cell = `${cc} ${lossPct}% loss`;
  const params =
    ok.length > 0
      ? `n=${ok.length}, p_seg ${pct(mean(ok.map((r) => r.pPkt)))}, p_evt ${pct(mean(ok.map((r) => r.pEvt)))}, ` +
        `RTT ${fmt(mean(ok.map((r) => r.srttMs)), 1)} ms, RTO ${fmt(mean(ok.map((r) => r.rtoMs)), 0)} ms, ` +
        `timeouts ${ok.reduce((a, r) => a + r.timeouts, 0)}/${ok.reduce((a, r) => a + r.timeouts + r.recoveries, 0)} signals`
      : 'no steady repetition';
  const lines: Line[] =
    cc === 'reno' ? RENO_LINES : [{ name: 'CUBIC', measuredKey: 'goodputBps', model: 'cubic', pLabel: 'p = loss events', source: CUBIC_SRC, judged: false }];
  return lines.map((l): Check => {
    const meas = ok.map((r) => r[l.measuredKey]);
    const model = ok.map((r) => modelsFor(r)[l.model]);
    const ratios = meas.map((m, i) => m / model[i]!);
    const { mean: rm, half } = meanCi(ratios);
    const avgErr = mean(ratios.map((r) => Math.abs(1 / r - 1))); // PFTK's |pred - obs| / obs
    const enough = ok.length >= (cc === 'reno' ? MIN_REPS : 1);
    const judged = l.judged && cc === 'reno';
    const what = l.measuredKey === 'sendBps' ? 'send rate' : 'goodput';
    return {
      group: 'T4',
      name: `T4 ${cell}: ${l.name}, ${l.pLabel}`,
      expectation: judged ? `mean measured/model within 1 +- ${TOLERANCE}` : 'information only',
      measured: `${what} ${mbit(mean(meas))} Mbit/s (${meas.map(mbit).join(', ')}); ratio ${fmt(rm, 3)} +- ${fmt(half, 3)} (95% CI), PFTK-style average error ${fmt(avgErr, 3)}; ${params}`,
      reference: `${l.name} ${mbit(mean(model))} Mbit/s (${model.map(mbit).join(', ')})`,
      source: l.source,
      pass: judged ? (enough ? Math.abs(rm - 1) <= TOLERANCE : null) : true,
      info: !judged,
    };
  });
}

/** Run T4 on a fresh topology; returns its check rows and writes every repetition to outDir. */
export async function runT4(o: T4Options, progress: (m: string) => void = () => {}): Promise<Check[]> {
  const plan = t4Plan(!!o.quick);
  const bench = await SteadyTcpBench.open(o.backend ?? 'auto');
  const results: SteadyTcpResult[] = [];
  try {
    progress(`T4: backend ${bench.backendName}; RTT ${2 * plan.delayMs} ms, loss ${plan.lossPcts.join('/')}% on the data direction, warm-up ${plan.warmupS} s, window ${plan.measureS} s`);
    for (const lossPct of plan.lossPcts) {
      for (let rep = 0; rep < Math.max(plan.renoReps, plan.cubicReps); rep++) {
        // the same seed for reno and cubic in a repetition: the same sequence of per-packet
        // loss draws (applied in packet order)
        const seed = 4000 + 100 * lossPct + rep;
        const ccs: CongestionControl[] = rep < plan.cubicReps ? ['reno', 'cubic'] : ['reno'];
        for (const cc of ccs) {
          if (cc === 'reno' && rep >= plan.renoReps) continue;
          const r = await bench.transfer({ cc, lossPct, delayMs: plan.delayMs, seed, warmupS: plan.warmupS, measureS: plan.measureS });
          results.push(r);
          progress(
            `T4: ${cc} ${lossPct}% rep ${rep + 1}: goodput ${mbit(r.goodputBps)} Mbit/s, p_seg ${pct(r.pPkt)}, p_evt ${pct(r.pEvt)}, ` +
              `srtt ${fmt(r.srttMs, 1)} ms, rto ${fmt(r.rtoMs, 0)} ms, timeouts ${r.timeouts}${r.steady ? '' : ' (NOT steady: excluded)'}`,
          );
        }
      }
    }
  } finally {
    await bench.close();
  }
  await mkdir(o.outDir, { recursive: true });
  await writeFile(join(o.outDir, 'repetitions.json'), JSON.stringify({ plan, tolerance: TOLERANCE, repetitions: results.map((r) => ({ ...r, models: modelsFor(r) })) }, null, 2) + '\n');
  const checks: Check[] = [];
  for (const lossPct of plan.lossPcts) {
    for (const cc of ['reno', 'cubic'] as const) {
      checks.push(...t4Checks(cc, lossPct, results.filter((r) => r.cc === cc && r.lossPctConfigured === lossPct)));
    }
  }
  return checks;
}
