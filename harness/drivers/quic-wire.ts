// Wire bytes of a driver that replaces its QUIC connection (sse-h3, webtransport-*): quiche's
// UDP payload counters of every connection it used, the replaced and the draining ones (a
// connection forgotten after GOAWAY still finishes its streams) included. Type-only import of
// h3/: nothing here loads the native binding.
import type { H3Client } from '../../h3/client.ts';

interface Seen {
  read: number;
  written: number;
}

export class QuicWireTally {
  /** the last counters read of every connection added */
  private readonly seen = new Map<H3Client, Seen>();

  /** Count `c` from now on (call once per connection dialled). */
  add(c: H3Client): void {
    if (!this.seen.has(c)) this.seen.set(c, { read: 0, written: 0 });
  }

  /** Bytes read/written so far over every connection added: each one's latest counters, or
   *  the last ones read before quiche freed it. */
  total(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const [c, last] of this.seen) {
      try {
        const st = c.conn.raw.stats();
        last.read = Math.max(last.read, st.recvBytes);
        last.written = Math.max(last.written, st.sentBytes);
      } catch {
        /* freed underneath: keep the last counters */
      }
      read += last.read;
      written += last.written;
    }
    return { read, written };
  }
}
