// Closed-form models of steady-state TCP throughput, for truth check T4. Pure functions,
// SI units in the names (seconds, bytes, packets, bit/s). No I/O.
//
// Sources:
//  - Mathis, Semke, Mahdavi, Ott, "The Macroscopic Behavior of the TCP Congestion Avoidance
//    Algorithm", ACM SIGCOMM CCR 27(3), July 1997: BW = (MSS/RTT) * C/sqrt(p). For the
//    deterministic sawtooth (one loss per cycle) the derivation gives C = sqrt(3/(2b)), b =
//    packets acknowledged per ACK: sqrt(3/2) ~ 1.22 when every segment is ACKed, sqrt(3/4) ~
//    0.87 with delayed ACKs (b = 2).
//  - Padhye, Firoiu, Towsley, Kurose, "Modeling TCP Throughput: A Simple Model and its
//    Empirical Validation", ACM SIGCOMM 1998: the "full model" (their eq. 31, with the
//    receiver-window limit Wmax and the timeout term) and its approximation (eq. 33, the
//    form RFC 3448/5348 (TFRC) use). B(p) is the SENDING rate in packets/s (retransmissions
//    included), p the rate of loss indications (triple-duplicate ACK or timeout) per packet
//    sent, T0 the retransmission timeout, b packets per ACK.
//  - RFC 8312 (CUBIC) section 5.1, for the information-only CUBIC line.
//
// Which b for Linux: b is how many packets one ACK advances the window by, i.e. the growth
// rate is 1/b segment per RTT. Linux Reno's congestion avoidance (net/ipv4/tcp_cong.c,
// tcp_reno_cong_avoid -> tcp_cong_avoid_ai(tp, cwnd, acked)) credits the number of segments
// each ACK covers (`acked`), not the number of ACKs, so a delayed-ACK receiver does not slow
// the window growth: one segment per RTT, the b = 1 case, even though the receiver ACKs
// every second segment. Hence C = sqrt(3/2) and b = 1 below (b = 2 is printed for
// comparison, never used for pass/fail).

/** Mathis constant from the deterministic derivation: C = sqrt(3 / (2b)). */
export function mathisC(b: number): number {
  if (!(b > 0)) throw new RangeError(`b must be > 0, got ${b}`);
  return Math.sqrt(3 / (2 * b));
}

export interface MathisInput {
  mssBytes: number;
  rttS: number;
  /** loss events (window halvings) per packet sent, 0 < p < 1 */
  p: number;
  c: number;
}

/** Mathis et al. (1997): throughput in bit/s = MSS * 8 / RTT * C / sqrt(p). */
export function mathisBps(m: MathisInput): number {
  checkP(m.p);
  if (!(m.rttS > 0) || !(m.mssBytes > 0)) throw new RangeError('mathisBps: rttS and mssBytes must be > 0');
  return ((m.mssBytes * 8) / m.rttS) * (m.c / Math.sqrt(m.p));
}

export interface PftkInput {
  rttS: number;
  /** loss indications per packet sent, 0 < p < 1 */
  p: number;
  /** retransmission timeout T0, s */
  t0S: number;
  /** largest window the receiver allows, packets (Infinity = unlimited) */
  wmaxPkts: number;
  /** packets acknowledged per ACK, as far as window growth is concerned */
  b: number;
}

/** PFTK's f(p) = 1 + p + 2p^2 + 4p^3 + 8p^4 + 16p^5 + 32p^6 (backed-off timeout sequence). */
export function pftkF(p: number): number {
  return 1 + p + 2 * p ** 2 + 4 * p ** 3 + 8 * p ** 4 + 16 * p ** 5 + 32 * p ** 6;
}

/** PFTK's Q^(p, w): probability that a loss in a window of w packets is a timeout, not a
 *  triple-duplicate ACK (min(1, ...) as in the paper). */
export function pftkQ(p: number, w: number): number {
  const q = 1 - p;
  const num = (1 - q ** 3) * (1 + q ** 3 * (1 - q ** (w - 3)));
  const den = 1 - q ** w;
  return Math.min(1, num / den);
}

/** PFTK's E[W_u]: mean unconstrained window at a loss indication, packets. */
export function pftkEw(p: number, b: number): number {
  const k = (2 + b) / (3 * b);
  return k + Math.sqrt((8 * (1 - p)) / (3 * b * p) + k * k);
}

/** PFTK full model (SIGCOMM'98 eq. 31): sending rate in packets/s. */
export function pftkFullPps(x: PftkInput): number {
  const { rttS: rtt, p, t0S: t0, wmaxPkts: wmax, b } = x;
  checkP(p);
  if (!(rtt > 0) || !(t0 >= 0) || !(wmax > 0) || !(b > 0)) throw new RangeError('pftkFullPps: rttS, wmaxPkts, b must be > 0 and t0S >= 0');
  const ew = pftkEw(p, b);
  const f = pftkF(p);
  if (ew < wmax) {
    const q = pftkQ(p, ew);
    return ((1 - p) / p + ew + q / (1 - p)) / (rtt * ((b / 2) * ew + 1) + (q * t0 * f) / (1 - p));
  }
  const q = pftkQ(p, wmax);
  return ((1 - p) / p + wmax + q / (1 - p)) / (rtt * ((b / 8) * wmax + (1 - p) / (p * wmax) + 2) + (q * t0 * f) / (1 - p));
}

/** PFTK approximate model (SIGCOMM'98 eq. 33), packets/s:
 *  min(Wmax/RTT, 1 / (RTT sqrt(2bp/3) + T0 min(1, 3 sqrt(3bp/8)) p (1 + 32p^2))). */
export function pftkApproxPps(x: PftkInput): number {
  const { rttS: rtt, p, t0S: t0, wmaxPkts: wmax, b } = x;
  checkP(p);
  const denom = rtt * Math.sqrt((2 * b * p) / 3) + t0 * Math.min(1, 3 * Math.sqrt((3 * b * p) / 8)) * p * (1 + 32 * p * p);
  return Math.min(wmax / rtt, 1 / denom);
}

/** CUBIC's average window from RFC 8312 section 5.1 (C = 0.4, beta = 0.7 by default),
 *  packets: [C(3+beta) / (4(1-beta))]^(1/4) * RTT^(3/4) / p^(3/4), with RTT in seconds. */
export function cubicAvgWindowPkts(rttS: number, p: number, c = 0.4, beta = 0.7): number {
  checkP(p);
  return ((c * (3 + beta)) / (4 * (1 - beta))) ** 0.25 * (rttS ** 0.75 / p ** 0.75);
}

/** CUBIC throughput, bit/s: the larger of the cubic window and the Reno-friendly window
 *  (RFC 8312 sections 4.2 and 5.1: in the TCP-friendly region CUBIC behaves as AIMD with
 *  the same average window as Reno, sqrt(3/(2p))). */
export function cubicBps(mssBytes: number, rttS: number, p: number): number {
  const w = Math.max(cubicAvgWindowPkts(rttS, p), Math.sqrt(3 / (2 * p)));
  return (w * mssBytes * 8) / rttS;
}

/** packets/s of MSS-sized segments -> bit/s */
export function ppsToBps(pps: number, mssBytes: number): number {
  return pps * mssBytes * 8;
}

function checkP(p: number) {
  if (!(p > 0 && p < 1)) throw new RangeError(`loss rate p must be in (0, 1), got ${p}`);
}
