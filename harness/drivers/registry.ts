// Drivers by protocol name, from the protocol table (harness/protocols.ts). Each loads lazily
// (h3's native binding may be missing on some platforms).
import { isProtocol, PROTOCOL_TABLE, protocolsOf } from '../protocols.ts';
import type { DriverFactory } from './types.ts';
import type { MessageDriverFactory } from './messages.ts';

export async function driverFor(protocol: string): Promise<DriverFactory> {
  const d = isProtocol(protocol) ? PROTOCOL_TABLE[protocol] : undefined;
  if (d?.family !== 'http') throw new Error(`no page/load driver for protocol ${protocol} (drivers: ${protocolsOf('http').join(', ')})`);
  return d.driver();
}

export async function messageDriverFor(protocol: string): Promise<MessageDriverFactory> {
  const d = isProtocol(protocol) ? PROTOCOL_TABLE[protocol] : undefined;
  if (d?.family !== 'messages') throw new Error(`${protocol} does not carry messages (messaging protocols: ${protocolsOf('messages').join(', ')})`);
  return d.driver();
}
