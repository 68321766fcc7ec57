// Wire bytes of a driver that replaces its QUIC connection (sse-h3, webtransport-*): quiche's
// UDP payload counters of every connection it used, the replaced ones included. Type-only
// import of h3/: nothing here loads the native binding.
import type { H3Client } from '../../h3/client.ts';

/** quiche's byte counters of `c`; 0 once they are gone (a connection freed underneath) */
function counters(c: H3Client): { recvBytes: number; sentBytes: number } {
  try {
    return c.conn.raw.stats();
  } catch {
    return { recvBytes: 0, sentBytes: 0 };
  }
}

export class QuicWireTally {
  private doneRead = 0;
  private doneWritten = 0;

  /** Add the counters of a connection being replaced (call once per connection). */
  retire(c: H3Client): void {
    const st = counters(c);
    this.doneRead += st.recvBytes;
    this.doneWritten += st.sentBytes;
  }

  /** Bytes read/written so far: the retired connections plus `current`. */
  total(current: H3Client | null): { read: number; written: number } {
    let read = this.doneRead;
    let written = this.doneWritten;
    if (current) {
      const st = counters(current);
      read += st.recvBytes;
      written += st.sentBytes;
    }
    return { read, written };
  }
}
