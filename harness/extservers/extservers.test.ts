// External servers (caddy, nginx, a user's command) under the real runner: the holbench CLI
// in real namespaces. What a user cares about: the jobs succeed with the right bytes, a
// broken server gives a clear FAILED reason (and the rest of the run goes on), HTTP/3 on
// Debian's nginx is UNSUPPORTED with the reason, bad input is exit 2 naming the field, and
// after the run no server process and no namespace is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { holbench } from '../testdata/cli.ts';
import { parseScenarioText, ScenarioError } from '../scenario/load.ts';
import { run } from '../../proc/exec.ts';
import { composeLabel, STATIC_SERVER_NAMES } from './spec.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const USER_SERVER = new URL('./testdata/user-server.mjs', import.meta.url).pathname;
const USER_H3 = new URL('./testdata/user-h3.ts', import.meta.url).pathname;
const root = process.getuid?.() === 0;

async function csv(file: string): Promise<Record<string, string>[]> {
  const [head, ...lines] = (await readFile(file, 'utf8')).trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => {
    // the reason column may hold commas inside quotes: split on commas outside quotes
    const cells = l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

async function runDir(out: string): Promise<string> {
  const [d] = await readdir(out);
  return join(out, d!);
}

async function leftovers(marker: string, runId: string): Promise<{ procs: string; netns: string }> {
  const p = await run('pgrep', ['-af', marker], { allowFail: true });
  const ns = await run('ip', ['netns', 'list']);
  return { procs: p.stdout.split('\n').filter((l) => l && !l.includes('pgrep')).join('\n'), netns: ns.stdout.split('\n').filter((l) => l.includes(runId)).join('\n') };
}

test('bad server input: exit 2 naming protocols[i].server, nothing run', async () => {
  const cases: [string, RegExp][] = [
    ['[{protocol: h2, server: apache}]', /protocols\.0\.server/],
    ['[h2, {protocol: h2, server: {command: "node server.js", protocols: [h2], port: 8100}}]', /protocols\.1\.server\.command/],
    ['[{protocol: h3, server: {command: [node, s.js], protocols: [h2], port: 8100}}]', /protocols\.0\.server: custom does not serve h3/],
    ['[{protocol: h2, server: {command: [], protocols: [h2], port: 8100}}]', /protocols\.0\.server\.command/],
    ['[{protocol: h2, server: {command: [x], protocols: [h2], port: 9443}}]', /protocols\.0\.server\.port/],
    ['[h2, ws@caddy]', /protocols\.1: .*caddy does not serve ws/],
    ['[{protocol: h2, server: {name: a, command: [x], protocols: [h2], port: 8100}}, {protocol: h2, server: {name: b, command: [y], protocols: [h2], port: 8100}}]', /protocols\.1\.server\.port: port 8100 is already taken/],
  ];
  for (const [protocols, re] of cases) {
    const text = `name: bad\nprotocols: ${protocols}\nworkload: {kind: page, objects: 2, object_bytes: 100}\n`;
    assert.throws(() => parseScenarioText(text, 'bad.yaml'), (e: unknown) => e instanceof ScenarioError && re.test(e.message), `${protocols} -> ${re}`);
  }
  // messaging workloads are not served by external servers
  assert.throws(() => parseScenarioText('protocols: [{protocol: ws, server: caddy}]\nworkload: {kind: messages}\n', 'm.yaml'), /protocols\.0\.server: caddy does not serve ws/);
  // the CLI: exit 2, the field in the message, nothing created
  const d = await tempDir('holbench-ext-bad-');
  try {
    await writeFile(join(d, 's.yaml'), 'name: bad\nprotocols: [{protocol: h2, server: apache}]\nworkload: {kind: page, objects: 2, object_bytes: 100}\n');
    const r = await holbench(['run', join(d, 's.yaml'), '--out', join(d, 'results'), '--no-report'], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /protocols\.0\.server/);
    assert.deepEqual(await readdir(d), ['s.yaml']);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

test('labels: a server suffix, composed in one place, parses back from the string spelling', () => {
  assert.equal(composeLabel('h3', { server: 'caddy' }), 'h3@caddy');
  assert.equal(composeLabel('h3', { client: 'chromium', server: 'caddy' }), 'h3@chromium@caddy');
  assert.equal(composeLabel('h3', {}), 'h3');
  for (const s of STATIC_SERVER_NAMES) {
    const l = parseScenarioText(`protocols: [h3, h3@${s}, {protocol: http1.1, connections: 6, tls: false, server: ${s}}]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n`, 'x.yaml').protocols;
    assert.deepEqual(l.map((p) => p.label), ['h3', `h3@${s}`, `http1.1x6-clear@${s}`]);
    assert.deepEqual(l.map((p) => p.server), [undefined, s, s]);
    // every output label is also a valid entry
    assert.deepEqual(parseScenarioText(`protocols: [${l.map((p) => p.label).join(', ')}]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n`, 'y.yaml').protocols, l);
  }
});

test('caddy and nginx under the runner: page jobs succeed with the right bytes; nginx h3 UNSUPPORTED; nothing left', { skip: !root && 'needs root (namespaces)', timeout: 240_000 }, async (t) => {
  const d = await tempDir('holbench-ext-static-');
  try {
    const protocols = ['h2', 'h3', 'h2@caddy', 'h3@caddy', 'http1.1@nginx', 'h2@nginx', 'h3@nginx', 'http1.1-clear@caddy'];
    await writeFile(join(d, 's.yaml'), `name: ext-static\nprotocols: [${protocols.join(', ')}]\nworkload: {kind: page, objects: 6, object_bytes: 20000}\nnetwork: {delay_ms: 5}\nrepetitions: 1\n`);
    const out = join(d, 'results');
    const r = await holbench(['run', join(d, 's.yaml'), '--out', out, '--no-report'], { timeoutMs: 200_000 });
    const dir = await runDir(out);
    const rows = await csv(join(dir, 'summary.csv'));
    assert.deepEqual(rows.map((x) => x.protocol).sort(), [...protocols].sort(), r.stderr);
    for (const row of rows) {
      if (row.protocol === 'h3@nginx') {
        assert.equal(row.status, 'UNSUPPORTED');
        assert.match(row.reason!, /ngx_http_v3_module/);
      } else assert.equal(row.status, 'SUCCEEDED', `${row.protocol}: ${row.reason}`);
      assert.equal(row.scheduling, row.protocol.includes('@') ? "server's own" : 'browser');
    }
    const served = protocols.filter((p) => p.includes('@') && p !== 'h3@nginx');
    const reqs = (await csv(join(dir, 'requests.csv'))).filter((q) => served.includes(q.protocol));
    assert.equal(reqs.length, 6 * served.length, 'six objects for each served external job');
    for (const q of reqs) assert.deepEqual([q.bytes, q.status, q.error], ['20000', '200', ''], `${q.protocol} ${q.path}`);
    t.diagnostic(rows.map((x) => `${x.protocol}: ${x.page_ms || x.status} ms`).join('; '));
    const runJson = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
    const ext = runJson.external_servers as Record<string, any>[];
    assert.deepEqual(ext.map((e) => e.name), ['caddy', 'nginx']);
    assert.match(ext[0]!.version, /^v?2\./);
    assert.match(ext[0]!.config, /file_server/);
    assert.match(ext[1]!.version, /^nginx\/1\./);
    assert.match(await readFile(join(dir, ext[1]!.config_file), 'utf8'), /ssl http2/);
    assert.deepEqual(runJson.protocols.find((p: any) => p.label === 'h3@caddy').server, 'caddy');
    const left = await leftovers(d, runJson.run_id);
    assert.equal(left.procs, '', 'no caddy or nginx left');
    assert.equal(left.netns, '', 'no namespace left');
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

test('a user server: one that works succeeds; early exit, never ready, wrong bytes, no such command: FAILED with the reason; nothing left', { skip: !root && 'needs root (namespaces)', timeout: 240_000 }, async () => {
  const d = await tempDir('holbench-ext-user-');
  try {
    const srv = (name: string, mode: string, port: number, extra = '') => `{name: ${name}, command: [${process.execPath}, ${USER_SERVER}, ${mode}], protocols: [h2, http1.1], port: ${port}${extra}}`;
    await writeFile(
      join(d, 's.yaml'),
      [
        'name: ext-user',
        'protocols:',
        `  - {protocol: h2, server: ${srv('mine', 'ok', 8100)}}`,
        `  - {protocol: http1.1, server: ${srv('mine', 'ok', 8100)}}`,
        `  - {protocol: h2, server: ${srv('early', 'exit-early', 8101)}}`,
        `  - {protocol: h2, server: ${srv('stuck', 'never-ready', 8102, ', start_timeout_s: 3')}}`,
        `  - {protocol: h2, server: ${srv('liar', 'wrong-bytes', 8103)}}`,
        '  - {protocol: h2, server: {name: nocmd, command: [/nonexistent/holbench-server], protocols: [h2], port: 8104}}',
        `  - {protocol: h3, server: {name: quic, command: [${process.execPath}, --import, ${import.meta.resolve('tsx')}, ${USER_H3}], protocols: [h3], port: 8105}}`,
        'workload: {kind: page, objects: 6, object_bytes: 20000}',
        'network: {delay_ms: 5}',
        'repetitions: 1',
        '',
      ].join('\n'),
    );
    const out = join(d, 'results');
    const r = await holbench(['run', join(d, 's.yaml'), '--out', out, '--no-report'], { timeoutMs: 200_000 });
    assert.equal(r.code, 1, 'failed jobs: exit 1');
    const dir = await runDir(out);
    const by = Object.fromEntries((await csv(join(dir, 'summary.csv'))).map((x) => [x.protocol, x]));
    assert.equal(Object.keys(by).length, 7, r.stderr);
    assert.equal(by['h2@mine']!.status, 'SUCCEEDED', by['h2@mine']!.reason);
    assert.equal(by['http1.1@mine']!.status, 'SUCCEEDED', by['http1.1@mine']!.reason);
    assert.equal(by['h3@quic']!.status, 'SUCCEEDED', by['h3@quic']!.reason);
    const failed: [string, RegExp][] = [
      ['h2@early', /early exited \(code 3\) before it was ready; see servers\/early\.log: user-server: exiting on purpose/],
      ['h2@stuck', /stuck not ready after \d+(\.\d)? s \(GET \/health over h2 on port 8102: GET \/health answered 503\)/],
      ['h2@liar', /6 of 6 objects failed: wrong body: byte 19999 differs from the \/bytes\/20000 payload/],
      ['h2@nocmd', /nocmd exited \(code \d+\) before it was ready.*nonexistent/],
    ];
    for (const [label, re] of failed) {
      assert.equal(by[label]!.status, 'FAILED', label);
      assert.match(by[label]!.reason!, re, label);
    }
    const runJson = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
    const mine = (runJson.external_servers as any[]).find((e) => e.name === 'mine');
    assert.deepEqual(mine.command, [process.execPath, USER_SERVER, 'ok']);
    assert.deepEqual(mine.serves, ['h2@mine', 'http1.1@mine']);
    assert.match(await readFile(join(dir, 'servers', 'mine.log'), 'utf8'), /user-server \(ok\) on 198\.19\.0\.2:8100, protocols h2,http1\.1/);
    for (const marker of [USER_SERVER, USER_H3, 'holbench-user-server-child']) {
      const left = await leftovers(marker, runJson.run_id);
      assert.equal(left.procs, '', `no ${marker} left`);
      assert.equal(left.netns, '', 'no namespace left');
    }
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

test('Ctrl-C during a run with caddy and a user server: exit 130, no server process and no namespace left', { skip: !root && 'needs root (namespaces)', timeout: 240_000 }, async () => {
  const d = await tempDir('holbench-ext-int-');
  try {
    const user = `{name: mine, command: [${process.execPath}, ${USER_SERVER}, ok, ${d}], protocols: [h2], port: 8110}`;
    await writeFile(join(d, 's.yaml'), `name: ext-int\nprotocols: [h2@caddy, {protocol: h2, server: ${user}}]\nworkload: {kind: page, objects: 10, object_bytes: 20000}\nnetwork: {delay_ms: 10}\nrepetitions: 20\n`);
    let sent = false;
    const r = await holbench(['run', join(d, 's.yaml'), '--out', join(d, 'results'), '--no-report'], {
      timeoutMs: 200_000,
      onStderr: (line, kill) => {
        if (!sent && /^ ?3\/40 /.test(line)) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    assert.ok(sent, r.stderr);
    assert.equal(r.code, 130, r.stderr);
    const runJson = JSON.parse(await readFile(join(await runDir(join(d, 'results')), 'run.json'), 'utf8'));
    // the temp folder's name is on both servers' command lines (caddy's config path, the user server's argument)
    const left = await leftovers(d, runJson.run_id);
    assert.equal(left.procs, '', 'no caddy or user server left');
    assert.equal(left.netns, '', 'no namespace left');
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
