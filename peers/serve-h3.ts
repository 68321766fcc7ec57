// Stand-alone HTTP/3 payload server (for perf runs and interop tests in a separate process):
//   tsx peers/serve-h3.ts --key FILE --cert FILE [--host 127.0.0.1] [--port 0] [--cc cubic] [--max-streams N]
//                   [--max-udp-payload N]   (default: from the path MTU, see path.ts)
// Prints "H3 READY <port>" once listening; exits on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listen } from '../h3/server.ts';
import { payloadHandler } from '../servers/h3-payload.ts';

const { values } = parseArgs({
  options: {
    key: { type: 'string' },
    cert: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    cc: { type: 'string', default: 'cubic' },
    'max-streams': { type: 'string', default: '128' },
    'max-udp-payload': { type: 'string' },
  },
});
if (!values.key || !values.cert) {
  process.stderr.write('usage: serve.ts --key FILE --cert FILE [--host H] [--port P] [--cc cubic|reno|bbr]\n');
  process.exitCode = 2;
} else {
  const server = await listen(values.host!, Number(values.port), { key: readFileSync(values.key, 'utf8'), cert: readFileSync(values.cert, 'utf8'), cc: values.cc, maxStreamsBidi: Number(values['max-streams']), maxUdpPayload: values['max-udp-payload'] ? Number(values['max-udp-payload']) : undefined }, payloadHandler);
  process.stdout.write(`H3 READY ${server.port}\n`);
  const stop = () => void server.close(500).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
