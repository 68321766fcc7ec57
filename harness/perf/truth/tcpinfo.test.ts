import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossIndications, parseSs, parseTcpExt } from './tcpinfo.ts';

// captured from `ss -tinH state established` in a T4 sender namespace (iproute2 6.1)
const SS = `0      418296 198.19.0.2:58868 198.18.0.2:5201
\t reno wscale:10,10 rto:252 rtt:50.705/0.679 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:15 ssthresh:8 bytes_sent:1546024 bytes_retrans:17376 bytes_acked:1506929 segs_out:1071 segs_in:800 data_segs_out:1069 send 3426881bps lastsnd:12 lastrcv:3280 lastack:12 pacing_rate 4112184bps delivery_rate 3227376bps delivered:1043 busy:3276ms rwnd_limited:52ms(1.6%) unacked:15 retrans:0/12 rcv_space:14480 rcv_ssthresh:64088 notsent:396576 minrtt:50 snd_wnd:2135040
0      0      198.19.0.2:58870 198.18.0.2:5201
\t cubic wscale:10,10 rto:1000 rtt:0.05/0.025 mss:1448 cwnd:10 bytes_acked:1 segs_out:2 data_segs_out:0
`;

test('ss: every socket with its info line, ssthresh null before the first loss', () => {
  const s = parseSs(SS);
  assert.equal(s.length, 2);
  const a = s[0]!;
  assert.equal(a.cc, 'reno');
  assert.equal(a.local, '198.19.0.2:58868');
  assert.equal(a.peer, '198.18.0.2:5201');
  assert.equal(a.rtoMs, 252);
  assert.equal(a.srttMs, 50.705);
  assert.equal(a.rttvarMs, 0.679);
  assert.equal(a.mssBytes, 1448);
  assert.equal(a.cwndPkts, 15);
  assert.equal(a.ssthreshPkts, 8);
  assert.equal(a.bytesAcked, 1506929);
  assert.equal(a.bytesSent, 1546024);
  assert.equal(a.dataSegsOut, 1069);
  assert.equal(a.retransTotal, 12);
  assert.equal(a.sndWndBytes, 2135040);
  assert.equal(s[1]!.cc, 'cubic');
  assert.equal(s[1]!.ssthreshPkts, null);
  assert.equal(s[1]!.sndWndBytes, null);
});

test('ss: a socket without rto/mss is an error, not a silent zero', () => {
  assert.throws(() => parseSs('0 0 1.2.3.4:1 5.6.7.8:2\n\t reno cwnd:10\n'), /lacks rto/);
});

test('netstat: TcpExt by name; loss indications = SACK + Reno recoveries + timeouts', () => {
  const t = parseTcpExt('TcpExt: A TCPSackRecovery TCPRenoRecovery TCPTimeouts\nTcpExt: 1 9 2 3\nIpExt: X\nIpExt: 4\n');
  assert.equal(t.A, 1);
  assert.deepEqual(lossIndications(t), { recoveries: 11, timeouts: 3 });
  assert.throws(() => lossIndications({ TCPSackRecovery: 1 }), /TCPRenoRecovery/);
  assert.throws(() => parseTcpExt('IpExt: A\nIpExt: 1\n'), /no TcpExt/);
});
