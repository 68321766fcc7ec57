// Shared by the WebTransport runner tests (webtransport*.test.ts): the scenario runner of
// cli.ts (helper backend; summary.csv and messages.csv), and the WebTransport entries of the
// protocol table.
import { runScenario as runIn } from './cli.ts';
import { PROTOCOLS } from '../protocols.ts';

/** the WebTransport entries of the protocol table (their source of truth) */
export const WT = PROTOCOLS.filter((p) => p.startsWith('webtransport-'));

export const runScenario = (yaml: string) => runIn(yaml, { prefix: 'holbench-wt-' });
