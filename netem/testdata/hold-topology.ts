// Test fixture: build a topology with the helper backend and a server-side process, print
// READY <runId>, then wait to be signalled. Used by lifecycle.test.ts.
import { createTopology } from '../topology.ts';
import { createBackend } from '../backends/index.ts';
import { installSignalHandlers, onCleanup } from '../../proc/lifecycle.ts';
import { parseProfile } from '../profile.ts';
import { startTs } from '../../proc/exec.ts';

installSignalHandlers();
const topo = await createTopology();
onCleanup(() => topo.destroy());
const backend = await createBackend('helper', topo);
onCleanup(() => backend.teardown());
await backend.apply(parseProfile({ delay_ms: 5, loss_pct: 1 }));
// a long-lived process in the server namespace, like a bundled server
startTs(new URL('../probe.ts', import.meta.url).pathname, ['echo', '--host', topo.addr.server, '--port', '9999'], { ns: topo.ns.server, stdio: 'ignore' });
process.stdout.write(`READY ${topo.runId}\n`);
setTimeout(() => {}, 600_000);
