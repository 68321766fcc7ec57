// One line per server plugin. h3 loads lazily: its native binding may be missing on some platforms.
import type { ServerPlugin } from './types.ts';

export type PluginName = 'h1' | 'h2' | 'h3' | 'msg' | 'grpc';

export async function loadPlugin(name: PluginName): Promise<ServerPlugin> {
  switch (name) {
    case 'h1':
      return (await import('./h1.ts')).h1Plugin();
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

/** Which server plugin serves a scenario protocol. */
export function pluginFor(protocol: string): PluginName {
  if (protocol === 'http1.0' || protocol === 'http1.1') return 'h1';
  if (protocol === 'h2' || protocol === 'h3') return protocol;
  if (protocol === 'sse-h2') return 'h2';
  if (protocol === 'sse-h3') return 'h3';
  if (protocol === 'ws' || protocol === 'sse' || protocol === 'longpoll') return 'msg';
  if (protocol.startsWith('grpc-')) return 'grpc';
  throw new Error(`no server plugin for protocol ${protocol}`);
}
