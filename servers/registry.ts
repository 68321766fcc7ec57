// One line per server plugin (which protocol a plugin serves is the protocol table's
// `plugin` field, harness/protocols.ts). h3 loads lazily: its native binding may be missing on some platforms.
import type { ServerPlugin } from './types.ts';

/** `h1` serves HTTP/1.x over TLS, `h1-clear` the same without TLS (a scenario's `tls: false`). */
export type PluginName = 'h1' | 'h1-clear' | 'h2' | 'h3' | 'msg' | 'grpc';

export async function loadPlugin(name: PluginName): Promise<ServerPlugin> {
  switch (name) {
    case 'h1':
      return (await import('./h1.ts')).h1Plugin({ tls: true });
    case 'h1-clear':
      return (await import('./h1.ts')).h1Plugin({ tls: false });
    case 'h2':
      return (await import('./h2.ts')).h2Plugin();
    case 'h3':
      return (await import('./h3.ts')).h3Plugin();
    case 'msg':
      return (await import('./msg.ts')).msgPlugin();
    case 'grpc':
      return (await import('./grpc.ts')).grpcPlugin();
  }
}
