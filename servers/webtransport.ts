// The WebTransport endpoint of the h3 plugin (servers/h3.ts): CONNECT /wt sessions carrying
// messages as contract/webtransport.ts says (echo or push; on a bidi stream, uni streams or
// datagrams). Push follows the shared schedule (PushSchedules), so `after` resumes a stream's
// schedule on a new session. Datagrams that cannot be queued are dropped, never retried.
import { encodeMessage, parsePushParams, type PushSchedules } from '../contract/messages.ts';
import { LineSplitter, WT_VIAS, type WtVia } from '../contract/webtransport.ts';
import type { H3Reply, H3Request } from '../h3/server.ts';
import type { WtSession, WtStream } from '../h3/webtransport.ts';

export interface WtEndpointStats {
  /** sessions accepted */
  sessions: number;
  /** push messages handed to a stream or queued as a datagram */
  messagesSent: number;
  /** datagrams that could not be queued (dropped before leaving) */
  datagramsDropped: number;
}

/** The /wt handler; `open` holds the live sessions (the plugin closes them on stop). */
export function wtEndpoint(schedules: PushSchedules, onSent: () => void) {
  const open = new Set<WtSession>();
  const stats: WtEndpointStats = { sessions: 0, messagesSent: 0, datagramsDropped: 0 };

  const handle = (req: H3Request): H3Reply => {
    const wt = req.webtransport;
    if (!wt) return { status: 400, body: 'WebTransport CONNECT only\n' };
    const q = new URL(req.path, 'https://x').searchParams;
    const mode = q.get('mode') ?? 'echo';
    const via = (q.get('via') ?? 'stream') as WtVia;
    if (mode !== 'echo' && mode !== 'push') return { status: 400 };
    if (!WT_VIAS.includes(via)) return { status: 400 };
    let stop = () => {};
    if (mode === 'push') {
      const p = parsePushParams(q);
      if (typeof p === 'string') return { status: 400 };
      // Start a turn after the 2xx was handed to QUIC: a datagram or stream that overtakes it
      // is dropped by a peer that does not know the session yet (Chromium).
      const start = (emit: (m: string) => boolean | void) =>
        wt.whenAccepted(() =>
          setImmediate(() => {
            if (wt.closed) return;
            stop = schedules.follow(p, (seq, due) => {
              stats.messagesSent++;
              onSent();
              if (emit(encodeMessage(seq, p.bytes, due)) === false) stats.datagramsDropped++;
            });
          }),
        );
      if (via === 'datagram') start((m) => wt.sendDatagram(Buffer.from(m, 'latin1')));
      else if (via === 'uni') start((m) => wt.sendUni(Buffer.from(`${m}\n`, 'latin1')));
      else {
        // the schedule starts on the first stream the client opens
        let started = false;
        wt.listenStreams((s) => {
          if (started || s.kind !== 'bidi') return;
          started = true;
          s.listen({});
          start((m) => s.write(Buffer.from(`${m}\n`, 'latin1')));
        });
      }
    } else {
      wt.listenStreams((s: WtStream) => {
        const lines = new LineSplitter();
        if (s.kind === 'bidi') s.listen({ data: (c) => lines.push(c, (l) => s.write(Buffer.from(`${l}\n`, 'latin1'))), fin: () => s.end() });
        else s.listen({ data: (c) => lines.push(c, (l) => wt.sendUni(Buffer.from(`${l}\n`, 'latin1'))) });
      });
      wt.listenDatagrams((d) => {
        if (!wt.sendDatagram(d)) stats.datagramsDropped++;
      });
    }
    stats.sessions++;
    open.add(wt);
    wt.onclose = () => {
      stop();
      open.delete(wt);
    };
    return { status: 200 };
  };

  return {
    handle,
    stats: () => ({ ...stats }),
    /** close every live session (FIN on its CONNECT stream) */
    closeAll: () => {
      for (const s of [...open]) s.close();
    },
  };
}
