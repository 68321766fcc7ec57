// The T4 formulas against numbers worked out by hand (intermediate values in the comments)
// and against a published table: the Linux kernel's TFRC lookup table
// (net/dccp/ccids/lib/tfrc_equation.c, tfrc_calc_x_lookup), which tabulates
// 1e6 * f(p) for the RFC 3448 equation, i.e. PFTK's approximation with b = 1 and
// t_RTO = 4R: X = s / (R f(p)), f(p) = sqrt(2p/3) + 12 sqrt(3p/8) (p + 32p^3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cubicAvgWindowPkts, cubicBps, mathisBps, mathisC, pftkApproxPps, pftkEw, pftkF, pftkFullPps, pftkQ } from './tcp-model.ts';

const close = (got: number, want: number, relTol: number, what: string) =>
  assert.ok(Math.abs(got - want) <= relTol * Math.abs(want), `${what}: got ${got}, want ${want} (+-${relTol * 100}%)`);

test('Mathis constants: sqrt(3/2) with every segment ACKed, sqrt(3/4) with delayed ACKs', () => {
  close(mathisC(1), 1.2247449, 1e-6, 'C(b=1)');
  close(mathisC(2), 0.8660254, 1e-6, 'C(b=2)');
  assert.throws(() => mathisC(0), RangeError);
});

test('Mathis: MSS 1460 B, RTT 100 ms, p = 1%, C = sqrt(3/2) -> 1.4305 Mbit/s', () => {
  // 1460 * 8 / 0.1 = 116800 bit/s per window-segment; * 1.2247449 / sqrt(0.01) = * 12.247449
  // = 1430502 bit/s
  close(mathisBps({ mssBytes: 1460, rttS: 0.1, p: 0.01, c: mathisC(1) }), 1_430_502, 1e-5, 'Mathis b=1');
  // MSS 1448, RTT 50 ms, p = 2%, C = sqrt(3/4): 231680 * 0.8660254 / 0.1414214 = 1418744 bit/s
  close(mathisBps({ mssBytes: 1448, rttS: 0.05, p: 0.02, c: mathisC(2) }), 1_418_744, 1e-5, 'Mathis b=2');
  // quadrupling p halves the rate
  const a = mathisBps({ mssBytes: 1448, rttS: 0.05, p: 0.005, c: 1 });
  const b = mathisBps({ mssBytes: 1448, rttS: 0.05, p: 0.02, c: 1 });
  close(a / b, 2, 1e-12, 'sqrt law');
  assert.throws(() => mathisBps({ mssBytes: 1448, rttS: 0.05, p: 0, c: 1 }), RangeError);
  assert.throws(() => mathisBps({ mssBytes: 1448, rttS: 0.05, p: 1, c: 1 }), RangeError);
});

test('PFTK approximation reproduces the kernel TFRC table (b = 1, T0 = 4 RTT)', () => {
  // table entries g(q) = 1e6 * f(q / 1e6), integer-truncated by the kernel; with R = 1 s the
  // model's rate is 1 / f(p) packets/s, so 1e6 / rate must match the entry to within 1 unit
  const table: [number, number][] = [
    [0.0001, 8172], // lookup[0][1]
    [0.002, 37172], // lookup[0][0] and lookup[19][1]
    [0.01, 89021], // lookup[4][0]
    [0.02, 136520], // lookup[9][0]
    [0.05, 271305], // lookup[24][0] and lookup[499][1]
    [0.1, 564939], // lookup[49][0]
  ];
  for (const [p, g] of table) {
    const pps = pftkApproxPps({ rttS: 1, p, t0S: 4, wmaxPkts: Infinity, b: 1 });
    const got = 1e6 / pps;
    assert.ok(got >= g && got < g + 1, `p=${p}: 1e6 f(p) = ${got}, kernel table ${g}`);
  }
  assert.equal(table.length, 6);
});

test('PFTK approximation is capped by the receiver window, Wmax / RTT', () => {
  assert.equal(pftkApproxPps({ rttS: 0.1, p: 1e-6, t0S: 1, wmaxPkts: 20, b: 2 }), 200);
});

test('PFTK full model, unconstrained: b = 2, p = 1%, RTT 100 ms, T0 = 1 s', () => {
  // E[W] = 2/3 + sqrt(8 * 0.99 / (6 * 0.01) + 4/9) = 0.666667 + sqrt(132.444444) = 12.175118
  close(pftkEw(0.01, 2), 12.175118, 1e-6, 'E[W]');
  // Q(0.01, 12.175118): (1 - 0.99^3) = 0.029701; 0.99^3 = 0.970299; 0.99^9.175118 = 0.911911;
  // num = 0.029701 * (1 + 0.970299 * 0.088097) = 0.032240; den = 1 - 0.99^12.175118 = 0.115174
  // -> 0.279922
  close(pftkQ(0.01, 12.175118), 0.279922, 1e-5, 'Q');
  // f(0.01) = 1 + 0.01 + 0.0002 + 0.000004 + ... = 1.010204
  close(pftkF(0.01), 1.010204, 1e-6, 'f');
  // numerator: 99 + 12.175118 + 0.279922 / 0.99 = 111.457867
  // denominator: 0.1 * (12.175118 + 1) + 0.279922 * 1 * 1.010204 / 0.99 = 1.317512 + 0.285634 = 1.603146
  // -> 69.5245 packets/s
  close(pftkFullPps({ rttS: 0.1, p: 0.01, t0S: 1, wmaxPkts: 1000, b: 2 }), 69.5245, 1e-5, 'B full');
});

test('PFTK full model, receiver-window limited: Wmax = 8 < E[W] = 12.18', () => {
  // Q(0.01, 8) = 0.029701 * (1 + 0.970299 * (1 - 0.99^5)) / (1 - 0.99^8) = 0.402735
  close(pftkQ(0.01, 8), 0.402735, 1e-5, 'Q(Wmax)');
  // numerator: 99 + 8 + 0.402735 / 0.99 = 107.406803
  // denominator: 0.1 * (2/8 * 8 + 0.99 / 0.08 + 2) + 0.402735 * 1.010204 / 0.99
  //            = 0.1 * 16.375 + 0.410954 = 2.048454 -> 52.4331 packets/s
  close(pftkFullPps({ rttS: 0.1, p: 0.01, t0S: 1, wmaxPkts: 8, b: 2 }), 52.4331, 1e-5, 'B full, Wmax');
});

test('PFTK full model tends to the Mathis sawtooth sqrt(3/(2bp)) / RTT without timeouts at small p', () => {
  for (const b of [1, 2]) {
    const p = 1e-6;
    const full = pftkFullPps({ rttS: 0.1, p, t0S: 0, wmaxPkts: Infinity, b });
    close(full, Math.sqrt(3 / (2 * b * p)) / 0.1, 0.001, `b=${b}`);
  }
});

test('PFTK: the timeout term only lowers the rate, and more with a longer T0', () => {
  const base = { rttS: 0.05, p: 0.02, wmaxPkts: Infinity, b: 1 };
  const r0 = pftkFullPps({ ...base, t0S: 0 });
  const r1 = pftkFullPps({ ...base, t0S: 0.25 });
  const r2 = pftkFullPps({ ...base, t0S: 1 });
  assert.ok(r0 > r1 && r1 > r2, `${r0} > ${r1} > ${r2}`);
});

test('CUBIC (RFC 8312 5.1): average window, and the Reno-friendly floor at short RTTs', () => {
  // [0.4 * 3.7 / (4 * 0.3)]^(1/4) = 1.233333^0.25 = 1.053829; RTT 1 s, p = 1%:
  // 1.053829 * 1 / 0.01^0.75 = 1.053829 * 31.622777 = 33.3250 packets
  close(cubicAvgWindowPkts(1, 0.01), 33.3250, 1e-5, 'W_cubic');
  // RTT 50 ms: 1.053829 * 0.105737 * 31.622777 = 3.5237 packets < Reno's sqrt(150) = 12.2474,
  // so CUBIC is in its Reno-friendly region and the model is Reno's rate
  const bps = cubicBps(1448, 0.05, 0.01);
  close(bps, (12.247449 * 1448 * 8) / 0.05, 1e-6, 'friendly region');
});
