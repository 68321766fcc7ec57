// The configuration we give Caddy and nginx: serve <objects>/bytes/<n> as static files on
// the server's address, TLS with the run's certificate (TLS 1.3 only, like the holbench
// server) on the TLS port, cleartext HTTP/1.1 on the clear port. No compression, no
// logging of requests (the access log would cost the server time the holbench server
// does not spend), everything the server writes inside `dir`.
import { join } from 'node:path';

export interface StaticConfigInput {
  /** the server namespace's address */
  host: string;
  tlsPort: number;
  clearPort: number;
  /** folder holding bytes/<n> */
  root: string;
  certFile: string;
  keyFile: string;
  /** the server's own folder (pid, logs, temp files, state) */
  dir: string;
}

/** Caddyfile: h1, h2 and h3 on the TLS port (TCP and UDP), h1 on the clear port. */
export function caddyfile(c: StaticConfigInput): string {
  return [
    '{',
    '\tadmin off',
    '\tauto_https off',
    '\tskip_install_trust',
    '\tservers {',
    '\t\tprotocols h1 h2 h3',
    '\t}',
    '}',
    `https://:${c.tlsPort} {`,
    `\tbind ${c.host}`,
    `\ttls ${c.certFile} ${c.keyFile} {`,
    '\t\tprotocols tls1.3',
    '\t}',
    `\troot * ${c.root}`,
    '\tfile_server',
    '}',
    `http://:${c.clearPort} {`,
    `\tbind ${c.host}`,
    `\troot * ${c.root}`,
    '\tfile_server',
    '}',
    '',
  ].join('\n');
}

/** nginx.conf: one master and one worker in the foreground, h1 + h2 on the TLS port, h1 on
 *  the clear port; `h3` adds a QUIC listener (nginx >= 1.25 built with ngx_http_v3_module;
 *  the runner asks for it only when `nginx -V` lists that module). */
export function nginxConf(c: StaticConfigInput & { h3: boolean; errorLog: string }): string {
  const d = (x: string) => join(c.dir, x);
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${d('nginx.pid')};`,
    `error_log ${c.errorLog} notice;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  default_type application/octet-stream;',
    '  sendfile on;',
    '  tcp_nodelay on;',
    '  keepalive_requests 100000;',
    '  gzip off;',
    `  client_body_temp_path ${d('body')};`,
    `  proxy_temp_path ${d('proxy')};`,
    `  fastcgi_temp_path ${d('fastcgi')};`,
    `  uwsgi_temp_path ${d('uwsgi')};`,
    `  scgi_temp_path ${d('scgi')};`,
    '  server {',
    `    listen ${c.host}:${c.tlsPort} ssl http2;`,
    ...(c.h3 ? [`    listen ${c.host}:${c.tlsPort} quic reuseport;`, '    http3 on;'] : []),
    `    ssl_certificate ${c.certFile};`,
    `    ssl_certificate_key ${c.keyFile};`,
    '    ssl_protocols TLSv1.3;',
    `    root ${c.root};`,
    '  }',
    '  server {',
    `    listen ${c.host}:${c.clearPort};`,
    `    root ${c.root};`,
    '  }',
    '}',
    '',
  ].join('\n');
}
