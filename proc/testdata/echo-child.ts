// Test fixture for channel.test.ts: a child serving the EchoControl contract.
import { isMain, serveChannel } from '../channel.ts';

export interface EchoControl {
  ready: { pid: number; arg: string };
  requests: {
    echo: { request: { type: 'echo'; text: string; delayMs?: number }; reply: { text: string } };
    fail: { request: { type: 'fail' }; reply: never };
  };
}

if (isMain(import.meta.url)) {
  serveChannel<EchoControl>(
    { pid: process.pid, arg: process.argv[2] ?? '' },
    {
      echo: async (r) => {
        if (r.delayMs) await new Promise((res) => setTimeout(res, r.delayMs));
        return { text: r.text.toUpperCase() };
      },
      fail: () => {
        throw new Error('asked to fail\nsecond line');
      },
    },
    () => void process.stdout.write('stopped cleanly\n'),
  );
}
