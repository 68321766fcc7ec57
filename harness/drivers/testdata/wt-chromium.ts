// Test fixture for harness/webtransport-chromium.test.ts: run inside the client namespace,
// drive Debian's Chromium (playwright-core, headless, background networking off) and let the
// page's WebTransport API talk to our h3 server's /wt endpoint (contract/webtransport.ts):
// echo on a bidirectional stream, on unidirectional streams and as datagrams, then a push
// session over datagrams. The certificate is pinned with serverCertificateHashes (our run
// certificate is ECDSA P-256, valid 7 days: within the API's 14-day limit).
// The page itself comes from a throwaway HTTP server on this namespace's 127.0.0.1 (a secure
// context, as WebTransport requires).
//   argv[2]: JSON WtChromiumJob    stdout: one "RESULT <json>" line (WtChromiumResult)
import http from 'node:http';
import { chromium } from 'playwright-core';
import { quietChromiumArgs } from '../chromium.ts';

export interface WtChromiumJob {
  /** https://<server>:<port> */
  origin: string;
  /** sha-256 of the server certificate's DER */
  certSha256: number[];
  /** messages per exchange */
  count: number;
}

export interface WtChromiumResult {
  version: string;
  bidi: string[];
  uni: string[];
  datagrams: string[];
  pushSeqs: number[];
  error?: string;
}

const job = JSON.parse(process.argv[2]!) as WtChromiumJob;
const res: WtChromiumResult = { version: '', bidi: [], uni: [], datagrams: [], pushSeqs: [] };
const page0 = http.createServer((_q, r) => void r.end('<!doctype html><title>wt</title>'));
await new Promise<void>((r) => page0.listen(0, '127.0.0.1', () => r()));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [...quietChromiumArgs(['127.0.0.1', new URL(job.origin).hostname]), '--metrics-recording-only', '--disable-features=MediaRouter,OptimizationHints'],
  // playwright kills the browser on our SIGTERM/SIGINT too
  handleSIGTERM: true,
  handleSIGINT: true,
});
try {
  res.version = browser.version();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(page0.address() as { port: number }).port}/`);
  // a string, not a function: tsx's transform would add helpers (__name) the page lacks
  const out = (await page.evaluate(`(async ({ origin, hash, count }) => {
    const r = { bidi: [], uni: [], datagrams: [], pushSeqs: [] };
    const opts = { serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(hash) }] };
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const within = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(\`\${what}: nothing within \${ms} ms\`)), ms))]);
    /** lines from a readable byte stream until \`n\` arrived or it ends */
    const readLines = async (rs, n, into) => {
      const rd = rs.getReader();
      let buf = '';
      while (into.length < n) {
        const { value, done } = await rd.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\\n')) >= 0) (into.push(buf.slice(0, i)), (buf = buf.slice(i + 1)));
      }
      rd.releaseLock();
    };
    const echo = new WebTransport(\`\${origin}/wt?mode=echo&via=stream\`, opts);
    await within(echo.ready, 10_000, 'session ready');
    // bidi: count lines out, the same lines back in order
    const s = await echo.createBidirectionalStream();
    const w = s.writable.getWriter();
    for (let i = 1; i <= count; i++) await w.write(enc.encode(\`bidi-\${i}\\n\`));
    await within(readLines(s.readable, count, r.bidi), 10_000, 'bidi echo');
    // uni: one stream per message; each comes back on a stream the server opens
    const incoming = (async () => {
      const rd = echo.incomingUnidirectionalStreams.getReader();
      while (r.uni.length < count) {
        const { value, done } = await rd.read();
        if (done) break;
        await readLines(value, r.uni.length + 1, r.uni);
      }
    })();
    for (let i = 1; i <= count; i++) {
      const u = await echo.createUnidirectionalStream();
      const uw = u.getWriter();
      await uw.write(enc.encode(\`uni-\${i}\\n\`));
      await uw.close();
    }
    await within(incoming, 10_000, 'uni echo');
    // datagrams: sent once each, echoed once each (a path without loss)
    const dw = echo.datagrams.writable.getWriter();
    const dr = echo.datagrams.readable.getReader();
    const got = (async () => {
      while (r.datagrams.length < count) {
        const { value, done } = await dr.read();
        if (done) break;
        r.datagrams.push(dec.decode(value));
      }
    })();
    for (let i = 1; i <= count; i++) await dw.write(enc.encode(\`dgram-\${i}\`));
    await within(got, 10_000, 'datagram echo').catch(() => {}); // the test counts what arrived
    echo.close();
    // push over datagrams: the server's schedule, contract/messages.ts messages
    const push = new WebTransport(\`\${origin}/wt?mode=push&via=datagram&stream=chromium&count=\${count}&interval_ms=10&bytes=64&after=0\`, opts);
    await within(push.ready, 10_000, 'push session ready');
    const pr = push.datagrams.readable.getReader();
    await within(
      (async () => {
        while (r.pushSeqs.length < count) {
          const { value, done } = await pr.read();
          if (done) break;
          r.pushSeqs.push(Number(dec.decode(value).split(' ')[0]));
        }
      })(),
      10_000,
      'push datagrams',
    ).catch(() => {});
    push.close();
    return r;
})(${JSON.stringify({ origin: job.origin, hash: job.certSha256, count: job.count })})`)) as Omit<WtChromiumResult, 'version'>;
  Object.assign(res, out);
} catch (e) {
  res.error = (e as Error).message.split('\n').slice(0, 3).join(' ');
} finally {
  await browser.close();
  page0.close();
}
process.stdout.write(`RESULT ${JSON.stringify(res)}\n`);
