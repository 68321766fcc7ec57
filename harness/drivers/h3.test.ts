// The h3 server plugin and the h3 driver together on 127.0.0.1 (no root): the driver reports
// headers, data and end with connection and stream ids; the plugin counts what it served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { makeTls, type TestTls } from '../../h3/testdata/tls.ts';
import { h3Plugin } from '../../servers/h3.ts';
import { createH3Driver } from './h3.ts';
import type { RequestHandle } from '../records.ts';

let tls: TestTls;
before(async () => {
  tls = await makeTls();
});
after(async () => {
  if (tls) await rm(tls.dir, { recursive: true, force: true });
});

test('harness pair: h3Plugin serves, createH3Driver reports headers/data/end with ids', { timeout: 30_000 }, async () => {
  const plugin = h3Plugin();
  const { port, transport } = await plugin.start({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert }, quicCc: 'cubic' });
  assert.equal(transport, 'udp');
  const driver = await createH3Driver({ target: { host: '127.0.0.1', port, caPem: tls.caPem, servername: tls.servername }, connections: 1, requestTimeoutMs: 10_000, quicCc: 'cubic' });
  try {
    const events: string[] = [];
    let bytes = 0;
    const handle = (reqId: number): RequestHandle => ({
      reqId,
      headers: (status, ids) => events.push(`h${status}:${typeof ids.connId}:${ids.streamId}`),
      data: (n) => (bytes += n),
      end: () => events.push('end'),
      fail: (e) => events.push(`fail:${(e as Error).message}`),
    });
    await Promise.all([driver.get('/bytes/100000', handle(1)), driver.get('/bytes/100000', handle(2))]);
    assert.equal(bytes, 200000);
    assert.deepEqual(events.filter((e) => e === 'end').length, 2);
    assert.ok(events.some((e) => /^h200:string:\d+$/.test(e)));
    assert.equal(driver.connectionsOpened(), 1);
    const failed: string[] = [];
    await driver.get('/bytes/1', { reqId: 3, headers() {}, data() {}, end: () => failed.push('end'), fail: (e) => failed.push(String(e)) });
    assert.deepEqual(failed, ['end']);
    const st = plugin.stats();
    assert.equal(st.connections, 1);
    assert.equal(st.requests, 3);
  } finally {
    await driver.close();
    await plugin.stop();
  }
  assert.equal(plugin.stats().requests, 3);
});
