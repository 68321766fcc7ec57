// A user's own HTTP/3 server for the tests (README "External servers"): our h3/ stack with
// the payload handler (GET /bytes/<n>, /health) on HOLBENCH_HOST:HOLBENCH_PORT (UDP), with
// the certificate and key the environment names.
import { readFileSync } from 'node:fs';
import { listen } from '../../../h3/server.ts';
import { payloadHandler } from '../../../servers/h3-payload.ts';

const env = process.env;
const server = await listen(env.HOLBENCH_HOST!, Number(env.HOLBENCH_PORT), { key: readFileSync(env.HOLBENCH_TLS_KEY!, 'utf8'), cert: readFileSync(env.HOLBENCH_TLS_CERT!, 'utf8') }, payloadHandler);
process.stdout.write(`user-h3 on ${env.HOLBENCH_HOST}:${server.port}, protocols ${env.HOLBENCH_PROTOCOLS}\n`);
process.once('SIGTERM', () => void server.close(500).then(() => process.exit(0)));
