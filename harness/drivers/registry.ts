// One line per driver. h3 loads lazily (its native binding may be missing).
import type { DriverFactory } from './types.ts';
import type { MessageDriverFactory } from './messages.ts';

export async function driverFor(protocol: string): Promise<DriverFactory> {
  switch (protocol) {
    case 'http1.0':
      return (await import('./h1.ts')).createH1Driver('1.0');
    case 'http1.1':
      return (await import('./h1.ts')).createH1Driver('1.1');
    case 'h2':
      return (await import('./h2.ts')).createH2Driver;
    case 'h3':
      return (await import('./h3.ts')).createH3Driver;
    default:
      throw new Error(`no driver for protocol ${protocol}`);
  }
}


export async function messageDriverFor(protocol: string): Promise<MessageDriverFactory> {
  switch (protocol) {
    case 'ws':
      return (await import('./ws.ts')).createWsDriver;
    case 'sse':
      return (await import('./sse.ts')).createSseDriver;
    case 'sse-h2':
      return (await import('./sse-h2.ts')).createSseH2Driver;
    case 'sse-h3':
      return (await import('./sse-h3.ts')).createSseH3Driver;
    case 'longpoll':
      return (await import('./longpoll.ts')).createLongPollDriver;
    case 'grpc-unary':
    case 'grpc-stream':
    case 'grpc-bidi':
      return (await import('./grpc.ts')).createGrpcDriver(protocol);
    default:
      throw new Error(`${protocol} does not carry messages`);
  }
}
