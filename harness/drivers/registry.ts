// One line per driver. h3 loads lazily (its native binding may be missing).
import type { DriverFactory } from './types.ts';

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
