// The `page` workload: like a browser loading a page. Optional HTML first, then every object
// requested at once over the protocol's natural connection pattern (the driver queues what
// its connections cannot carry yet). Page time = start of the first request to the end of
// the last; a page with any failed object has no page time.
//
// Every request carries the RFC 9218 priority Chromium gives its resource type
// (browser-priority.ts): the HTML is a document ("u=0, i"), the objects are images ("i":
// urgency 3, incremental). The requests are the same under every `scheduling`; the servers
// decide whether to honour them (only under `browser`).
import type { Driver } from '../drivers/types.ts';
import type { Recorder } from '../recorder.ts';
import type { PageWorkloadT } from '../scenario/schema.ts';
import { chromiumPriorityHeader } from './browser-priority.ts';

export interface PageResult {
  pageMs: number | null;
  objects: number;
  failed: number;
}

export function objectSize(w: PageWorkloadT, i: number): number {
  return Array.isArray(w.object_bytes) ? w.object_bytes[i % w.object_bytes.length]! : w.object_bytes;
}

export async function runPage(driver: Driver, w: PageWorkloadT, rec: Recorder): Promise<PageResult> {
  const t0 = rec.now();
  const before = rec.errors;
  if (w.html_bytes) await driver.get(`/bytes/${w.html_bytes}?o=html`, rec.begin(`/bytes/${w.html_bytes}`, -1), { priority: chromiumPriorityHeader('document') });
  const objectPriority = chromiumPriorityHeader('image');
  await Promise.all(
    Array.from({ length: w.objects }, (_, i) => {
      const size = objectSize(w, i);
      return driver.get(`/bytes/${size}?o=${i}`, rec.begin(`/bytes/${size}`, i), { priority: objectPriority });
    }),
  );
  const failed = rec.errors - before;
  return { pageMs: failed ? null : Math.round((rec.now() - t0) * 1000) / 1000, objects: w.objects, failed };
}
