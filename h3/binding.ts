// Loads the quiche napi binding shipped by @matrixai/quic's platform packages. The package's
// "exports" map does not promise the native entry point, so we resolve the platform package
// (@matrixai/quic-<platform>-<arch>, whose "main" is the .node file) ourselves, first from
// here and then from @matrixai/quic's own location (for nested installs).
import { createRequire } from 'node:module';
import { H3UnsupportedError } from './errors.ts';

export interface HostPort {
  host: string;
  port: number;
}
export interface ConnectionError {
  isApp: boolean;
  errorCode: number;
  reason: Uint8Array;
}
/** The subset of quiche's Config we use. */
export interface QuicheConfig {
  verifyPeer(verify: boolean): void;
  grease(grease: boolean): void;
  setApplicationProtos(protos: string[]): void;
  setMaxIdleTimeout(ms: number): void;
  setMaxRecvUdpPayloadSize(n: number): void;
  setMaxSendUdpPayloadSize(n: number): void;
  setInitialMaxData(n: number): void;
  setInitialMaxStreamDataBidiLocal(n: number): void;
  setInitialMaxStreamDataBidiRemote(n: number): void;
  setInitialMaxStreamDataUni(n: number): void;
  setInitialMaxStreamsBidi(n: number): void;
  setInitialMaxStreamsUni(n: number): void;
  setDisableActiveMigration(v: boolean): void;
  setCcAlgorithmName(name: string): void;
  enableHystart(v: boolean): void;
  setMaxStreamWindow(n: number): void;
  setMaxConnectionWindow(n: number): void;
  /** TLS early data: a server accepts 0-RTT from resuming clients; a client sends 0-RTT
   *  when it has a session (Connection.setSession) whose ticket allows it */
  enableEarlyData(): void;
  /** let connections made with this config log their secrets (Connection.setKeylog) */
  logKeys(): void;
  /** RFC 9221 QUIC DATAGRAM: advertise max_datagram_frame_size and keep queues of this many
   *  datagrams each way (the send queue drops nothing: dgramSend fails when it is full) */
  enableDgram(enabled: boolean, recvQueueLen: number, sendQueueLen: number): void;
}
/** The subset of quiche's Connection we use. Errors are thrown as Error with quiche's error
 *  name as message ("Done", "StreamReset(256)", "StreamStopped(256)", "TlsFail", ...). */
export interface QuicheConnection {
  /** NSS key log of this connection's secrets to `path` (the config must have logKeys()) */
  setKeylog(path: string): void;
  recv(data: Uint8Array, info: { from: HostPort; to: HostPort }): number;
  send(data: Uint8Array): [number, { from: HostPort; to: HostPort }] | null;
  streamRecv(streamId: number, data: Uint8Array): [number, boolean] | null;
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null;
  streamShutdown(streamId: number, direction: number, err: number): void | null;
  streamFinished(streamId: number): boolean;
  /** RFC 9218 urgency (0..7; quiche's default for streams nobody set is 127) and incremental */
  streamPriority(streamId: number, urgency: number, incremental: boolean): void;
  /** send capacity of a stream; throws StreamStopped(code) once the peer sent STOP_SENDING */
  streamCapacity(streamId: number): number;
  peerStreamsLeftBidi(): number;
  peerStreamsLeftUni(): number;
  readable(): Iterable<number>;
  /** streams that can take data now; empty when the connection has no send capacity (quiche: tx_cap == 0) */
  writable(): Iterable<number>;
  timeout(): number | null;
  onTimeout(): void;
  close(app: boolean, err: number, reason: Uint8Array): void | null;
  isEstablished(): boolean;
  isDraining(): boolean;
  isClosed(): boolean;
  isTimedOut(): boolean;
  peerError(): ConnectionError | null;
  localError(): ConnectionError | null;
  applicationProto(): Uint8Array;
  stats(): { recv: number; sent: number; lost: number; retrans: number; sentBytes: number; recvBytes: number; lostBytes: number };
  pathStats(): Array<{ rtt: number; cwnd: number; deliveryRate: number }>;
  /** quiche send_ack_eliciting(): the next packet carries a PING unless it already has an
   *  ack-eliciting frame (a keepalive; no-op on a closing connection) */
  sendAckEliciting(): void;
  /** the TLS session (ticket + the peer's transport parameters) once the server sent a
   *  NewSessionTicket; null before (client side) */
  session(): Uint8Array | null;
  /** resume with a session from session(); call before the first send() */
  setSession(session: Uint8Array): void;
  /** the handshake resumed a session */
  isResumed(): boolean;
  /** 0-RTT data may be sent (client) or was accepted and is being read (server) before the
   *  handshake completed */
  isInEarlyData(): boolean;
  /** the oldest received DATAGRAM copied into `data` (its length), null when none is queued */
  dgramRecv(data: Uint8Array): number | null;
  /** queue a DATAGRAM frame; throws ("Done": send queue full, "BufferTooShort": larger than
   *  dgramMaxWritableLen, "InvalidState": the peer did not enable datagrams) */
  dgramSend(data: Uint8Array): void | null;
  /** the largest datagram payload that fits a packet now; null before the peer's transport
   *  parameters are known or when the peer does not accept datagrams */
  dgramMaxWritableLen(): number | null;
}
export interface Quiche {
  Config: {
    new (): QuicheConfig;
    withBoringSslCtx(verifyPeer: boolean, verifyAllowFail: boolean, ca?: Uint8Array | null, key?: Uint8Array[] | null, cert?: Uint8Array[] | null, sigalgs?: string | null): QuicheConfig;
  };
  Connection: {
    connect(serverName: string | null, scid: Uint8Array, local: HostPort, remote: HostPort, config: QuicheConfig): QuicheConnection;
    accept(scid: Uint8Array, odcid: Uint8Array | null, local: HostPort, remote: HostPort, config: QuicheConfig): QuicheConnection;
  };
  Header: { fromSlice(data: Uint8Array, dcidLen: number): { ty: number; version: number; dcid: Uint8Array; scid: Uint8Array } };
  Type: { Initial: number; Short: number };
  Shutdown: { Read: number; Write: number };
  negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number;
  versionIsSupported(version: number): boolean;
  MIN_CLIENT_INITIAL_LEN: number;
  MAX_CONN_ID_LEN: number;
}

let cached: { q: Quiche } | { err: string } | undefined;

function tryLoad(): Quiche {
  const pkg = `@matrixai/quic-${process.platform}-${process.arch}`;
  const here = createRequire(import.meta.url);
  const errors: string[] = [];
  const attempts: (() => unknown)[] = [
    () => here(pkg),
    () => createRequire(here.resolve('@matrixai/quic/package.json'))(pkg),
  ];
  for (const a of attempts) {
    try {
      const m = a() as Quiche;
      if (m && typeof m.Connection?.connect === 'function' && typeof m.Config?.withBoringSslCtx === 'function') return m;
      errors.push('module does not look like the quiche binding');
    } catch (e) {
      errors.push((e as Error).message.split('\n')[0]!);
    }
  }
  throw new H3UnsupportedError(`quiche binding ${pkg} not loadable: ${[...new Set(errors)].join('; ')}`);
}

/** The binding, or throws H3UnsupportedError. Loaded once. */
export function quiche(): Quiche {
  if (!cached) {
    try {
      cached = { q: tryLoad() };
    } catch (e) {
      cached = { err: (e as Error).message };
    }
  }
  if ('err' in cached) throw new H3UnsupportedError(cached.err);
  return cached.q;
}

/** Whether HTTP/3 can run here; the harness reports h3 as UNSUPPORTED with `reason` if not. */
export function h3Support(): { ok: boolean; reason?: string } {
  try {
    quiche();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
