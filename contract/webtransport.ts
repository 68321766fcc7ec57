// The WebTransport messaging contract (`webtransport-stream`, `webtransport-uni`,
// `webtransport-datagram`), shared by servers/webtransport.ts and harness/drivers/webtransport.ts
// (and the Chromium interop test's page). The message itself is contract/messages.ts's.
//
// One session per channel: extended CONNECT to /wt?mode=<echo|push>&via=<stream|uni|datagram>
// (+ the push params for push). Where messages travel:
//   stream    one bidirectional stream the client opens; every message is a line ("\n" after
//             it): echo writes lines, the server writes each back on the same stream; push:
//             the server writes its schedule on the first stream the client opens
//   uni       every message on a unidirectional stream of its own (line + FIN), both ways
//   datagram  every message one HTTP/3 datagram (no newline); never retransmitted: a lost
//             datagram is a lost message
// Echo answers in kind whatever arrives (a line on a bidi stream, a uni stream, a datagram).
import { pushQuery, type PushParams } from './messages.ts';

export const WT_VIAS = ['stream', 'uni', 'datagram'] as const;
export type WtVia = (typeof WT_VIAS)[number];

export const WT_PATH = '/wt';

export function wtPath(mode: 'echo' | 'push', via: WtVia, push?: PushParams): string {
  return `${WT_PATH}?mode=${mode}&via=${via}${mode === 'push' && push ? `&${pushQuery(push)}` : ''}`;
}

/** Splits a byte stream into "\n"-terminated lines (without the newline). */
export class LineSplitter {
  private buf = '';
  push(chunk: Buffer, onLine: (line: string) => void): void {
    this.buf += chunk.toString('latin1');
    for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
      const l = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      onLine(l);
    }
    if (this.buf.length > 2 << 20) this.buf = ''; // no newline in 2 MB: not our framing
  }
}
