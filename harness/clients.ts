// Which client runs a protocol's page workload: our own drivers (`holbench`, the default) or
// Debian's Chromium driven over the DevTools protocol (harness/drivers/chromium.ts). One rule
// for both scenario spellings ({protocol: h3, client: chromium} and the label "h3@chromium").
import type { ProtocolName } from './protocols.ts';

export const CLIENTS = ['holbench', 'chromium'] as const;
export type ClientName = (typeof CLIENTS)[number];

/** Label suffix of a Chromium run: h3@chromium beside h3, so one scenario compares both. */
export const CHROMIUM_SUFFIX = '@chromium';

/** What Chromium is asked to speak, and the Resource Timing `nextHopProtocol` that proves it did. */
export const CHROMIUM_PROTOCOLS: Partial<Record<ProtocolName, string>> = { 'http1.1': 'http/1.1', h2: 'h2', h3: 'h3' };

/** A browser picks its own HTTP/1.1 pool: Chromium opens at most 6 connections per origin. */
export const CHROMIUM_H1_CONNECTIONS = 6;

/** The client rule applied to a protocol entry: null when fine, else the field at fault
 *  ('client' or 'connections') and the problem in words. */
export function clientProblem(protocol: ProtocolName, client: ClientName | undefined, connections: number | undefined, tls: boolean | undefined): { field: 'client' | 'connections' | 'tls'; problem: string } | null {
  if (client !== 'chromium') return null;
  if (!(protocol in CHROMIUM_PROTOCOLS)) return { field: 'client', problem: `client chromium runs ${Object.keys(CHROMIUM_PROTOCOLS).join(', ')} only, not ${protocol}` };
  if (tls === false) return { field: 'tls', problem: 'client chromium speaks HTTP over TLS only (https://); drop tls: false' };
  if (connections !== undefined && connections !== (protocol === 'http1.1' ? CHROMIUM_H1_CONNECTIONS : 1)) {
    return { field: 'connections', problem: `client chromium picks its own connections (HTTP/1.1: ${CHROMIUM_H1_CONNECTIONS} per origin; h2, h3: 1); drop connections` };
  }
  return null;
}
