// The server-side handshake columns: filled only for a client that reports no resumption
// itself (Chromium), with the client's priming handshakes taken out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerStats } from '../../servers/types.ts';
import type { JobConnection, JobResult } from '../agent.ts';
import { serverHandshakeColumns } from './server.ts';

const stats = (full: number, resumed: number, zeroRtt?: number): ServerStats => ({ connections: full + resumed, requests: 0, tls: { full, resumed, alpn: {}, suites: {} }, ...(zeroRtt === undefined ? {} : { zeroRtt }) });
const conn = (o: Partial<JobConnection> = {}): JobConnection => ({ connId: 'c', startMs: 0, preconnected: false, tcpConnectMs: null, tlsHandshakeMs: null, quicHandshakeMs: null, resumed: null, zeroRtt: null, ...o });
const result = (conns: JobConnection[], primed?: number): JobResult => ({ id: 1, status: 'SUCCEEDED', reason: '', connectionsOpened: conns.length, bytes: 0, elapsedMs: 0, requests: [], chunks: [], connections: conns, ...(primed === undefined ? {} : { primedConnections: primed }) });

test('Chromium resumed over HTTP/1.1: 6 primed full handshakes are not the page\'s; 2 of its 6 resumed', () => {
  const six = Array.from({ length: 6 }, () => conn());
  assert.deepEqual(serverHandshakeColumns(stats(3, 0), stats(13, 2), result(six, 6)), { resumed: 0.333, zero_rtt: null });
});

test('h3: resumed and 0-RTT shares from the server; a cold page resumes nothing', () => {
  assert.deepEqual(serverHandshakeColumns(stats(1, 0, 0), stats(2, 1, 1), result([conn()], 1)), { resumed: 1, zero_rtt: 1 });
  assert.deepEqual(serverHandshakeColumns(stats(0, 0, 0), stats(1, 0, 0), result([conn()])), { resumed: 0, zero_rtt: 0 });
});

test('left alone: a client that reports resumption, a job without connections, a server without TLS counters', () => {
  assert.deepEqual(serverHandshakeColumns(stats(0, 0), stats(0, 1), result([conn({ resumed: true })])), {});
  assert.deepEqual(serverHandshakeColumns(stats(0, 0), stats(1, 0), result([])), {});
  assert.deepEqual(serverHandshakeColumns({ connections: 0, requests: 0 }, { connections: 1, requests: 0 }, result([conn()])), {});
});

test('counts that do not add up (more primed than full handshakes, none at all) give empty columns, not a share', () => {
  assert.deepEqual(serverHandshakeColumns(stats(0, 0), stats(1, 0), result([conn()], 2)), { resumed: null, zero_rtt: null });
  assert.deepEqual(serverHandshakeColumns(stats(4, 0), stats(4, 0), result([conn()])), { resumed: null, zero_rtt: null });
});
