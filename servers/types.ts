// Server side of a protocol. Plugins run inside the server namespace, in one server
// process (servers/main.ts) that reports readiness to the runner on stdout.
export interface ServerContext {
  /** address to bind (the server namespace's address) */
  host: string;
  /** per-run TLS key and certificate (PEM) for TLS protocols */
  tls: { key: string; cert: string };
  /** QUIC congestion control for h3 */
  quicCc?: string;
  /** liveness settings for messaging protocols (scenario workload.keepalive) */
  keepalive?: import('../contract/messages.ts').Keepalive;
  /** how multiplexing servers share a connection among responses (default: browser);
   *  changed per cell by ServerPlugin.configure */
  scheduling?: import('./scheduler.ts').Scheduling;
  /** h3: advertise WebTransport (its SETTINGS, QUIC datagrams, uni-stream credit); default
   *  true. The runner sets false unless the scenario runs a WebTransport protocol, so plain
   *  HTTP/3 meets a plain HTTP/3 server, as a browser meets most. */
  webtransport?: boolean;
}

/** What the runner may change between cells without restarting the server (request `configure`). */
export interface ServerSettings {
  scheduling: import('./scheduler.ts').Scheduling;
}

export interface ServerStats {
  /** transport connections accepted since start */
  connections: number;
  /** requests (or messages) served since start */
  requests: number;
  /** TLS handshakes since start (full vs resumed, ALPN, suite), TLS plugins that count them */
  tls?: import('./tls-settings.ts').TlsStats;
  /** handshakes whose connection carried requests in 0-RTT (early data the server accepted; h3) */
  zeroRtt?: number;
  /** dead peers this server noticed since start (messaging protocols), in order */
  deadPeers?: import('../contract/messages.ts').DeadPeerEvent[];
}

export interface ServerPlugin {
  readonly protocol: string;
  /** Bind and start serving; resolve with the port once accepting. */
  start(ctx: ServerContext): Promise<{ port: number; transport: 'tcp' | 'udp' }>;
  stats(): ServerStats;
  /** Apply new settings to requests that arrive from now on (plugins without the setting ignore it). */
  configure?(s: ServerSettings): void;
  stop(): Promise<void>;
}
