// The TLS settings every TCP+TLS plugin uses (h1 over TLS, h2), so HTTP/1.x and HTTP/2 meet
// the same handshake with the same per-run certificate (servers/cert.ts):
//   - TLS 1.3 only (minVersion). Both sides already negotiate 1.3 by default; the pin makes a
//     1.2 handshake (one more round trip) impossible instead of unnoticed.
//   - ciphers and groups: Node's defaults, which is what node:http2 uses (it adds only ALPN
//     h2 to the TLS options). Measured on Node 20 with our clients (undici, node:http2):
//     TLS_AES_256_GCM_SHA384 with X25519 on both (servers/h1.test.ts checks they match).
//   - session tickets: Node's default (the server issues TLS 1.3 tickets); whether a client
//     resumes is the client's choice (the h1 driver does not, see harness/drivers/h1.ts).
// Observation: `observeTls` counts full and resumed handshakes and what they negotiated, for
// the plugin's stats (tests and probes read them).
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';

export interface TlsStats {
  /** handshakes completed without resuming a session (each a full TLS 1.3 handshake) */
  full: number;
  /** handshakes that resumed a session (ticket) */
  resumed: number;
  /** negotiated ALPN protocol -> handshakes ('' when none was negotiated) */
  alpn: Record<string, number>;
  /** "TLSv1.3 TLS_AES_256_GCM_SHA384" -> handshakes */
  suites: Record<string, number>;
}

/** Options for tls/https/http2 secure servers: key, certificate and the shared settings. */
export function tlsServerOptions(cert: { key: string; cert: string }): TlsOptions {
  return { key: cert.key, cert: cert.cert, minVersion: 'TLSv1.3' };
}

/** Count every completed handshake on `server`; the returned object is live. */
export function observeTls(server: TlsServer): TlsStats {
  const st: TlsStats = { full: 0, resumed: 0, alpn: {}, suites: {} };
  server.on('secureConnection', (s: TLSSocket) => {
    if (s.isSessionReused()) st.resumed++;
    else st.full++;
    const alpn = s.alpnProtocol || '';
    st.alpn[alpn] = (st.alpn[alpn] ?? 0) + 1;
    const suite = `${s.getProtocol()} ${s.getCipher()?.name}`;
    st.suites[suite] = (st.suites[suite] ?? 0) + 1;
  });
  return st;
}

/** A copy of `st` for a stats reply. */
export function tlsSnapshot(st: TlsStats): TlsStats {
  return { full: st.full, resumed: st.resumed, alpn: { ...st.alpn }, suites: { ...st.suites } };
}
