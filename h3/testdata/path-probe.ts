// Prints pathMaxUdpPayload for each [local, peer] pair given as JSON in argv[2], as a JSON
// array on one line. path.test.ts runs it inside a namespace it built, where the interfaces
// and their MTUs are known, because path.ts reads the namespace it runs in.
import { pathMaxUdpPayload } from '../path.ts';

const queries = JSON.parse(process.argv[2] ?? '[]') as [string, string | null][];
process.stdout.write(`${JSON.stringify(queries.map(([local, peer]) => pathMaxUdpPayload(local, peer)))}\n`);
