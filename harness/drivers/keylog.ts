// TLS session keys for Wireshark: with a capture on (capture: true), every TLS socket a driver
// opens appends its secrets to the job's key log file in NSS key log format (Node's 'keylog'
// event gives one complete line per secret), so tshark/Wireshark can decrypt the job's
// pcap with `-o tls.keylog_file:<file>`. QUIC connections log theirs through quiche
// (h3/quic.ts, TransportOptions.keylogFile).
import { appendFileSync } from 'node:fs';
import type tls from 'node:tls';

/** Append `socket`'s key log lines to `file` (no-op without a file). Synchronous so a line is
 *  on disk before the record it unlocks can be analysed, and lines of two sockets never mix. */
export function logKeysTo(socket: tls.TLSSocket, file: string | undefined): void {
  if (!file) return;
  socket.on('keylog', (line: Buffer) => appendFileSync(file, line));
}
