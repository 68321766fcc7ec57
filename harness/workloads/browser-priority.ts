// The RFC 9218 priority Chromium signals per resource type, which the page workload attaches
// to its requests (h2 and h3 drivers send it; servers honour it under `scheduling: browser`).
//
// How Chromium arrives at it (Chromium source, 2024-2025):
// - Blink's load priority by type, TypeToPriority()
//   (third_party/blink/renderer/platform/loader/fetch/resource_fetcher.cc): stylesheets and
//   fonts kVeryHigh; scripts, fetch/XHR (kRaw) kHigh; images, media, SVG kLow (images in the
//   viewport are raised to kHigh after layout, parser-blocking scripts to kVeryHigh).
// - Blink -> net priority, ConvertWebKitPriorityToNetPriority(): kVeryHigh HIGHEST, kHigh
//   MEDIUM, kMedium LOW, kLow LOWEST, kVeryLow IDLE.
// - net -> urgency, ConvertRequestPriorityToQuicPriority() (net/quic/quic_http_utils.cc):
//   urgency = HIGHEST - priority, so HIGHEST 0, MEDIUM 1, LOW 2, LOWEST 3, IDLE 4.
// - incremental, ShouldLoadIncremental()
//   (third_party/blink/renderer/platform/loader/fetch/resource_request_utils.cc): false for
//   stylesheets, scripts, fonts, XSL, manifests; true for images, fetch (kRaw), media, SVG;
//   navigations are incremental too.
// - on the wire: the `priority` request header on HTTP/2 and HTTP/3 (net/spdy/spdy_http_utils.cc,
//   kHttp2PriorityHeader; feature "priority HTTP request header", on by default since
//   Chrome 124, chromestatus 5109106573049856), serialized by quiche's
//   SerializePriorityFieldValue() with defaults (u=3, not incremental) omitted; unit test
//   CreateSpdyHeadersFromHttpRequestHTTP2 expects "u=0, i" for a HIGHEST incremental request.
//   On HTTP/3 quiche also sends a PRIORITY_UPDATE frame on the control stream before the
//   request's HEADERS when the priority is not the default
//   (QuicSpdyStream::MaybeSendPriorityUpdateFrame); Chromium sends no priority header on HTTP/1.1.
import { DEFAULT_PRIORITY, formatPriority, type Priority } from '../../servers/scheduler.ts';

export const RESOURCE_TYPES = ['document', 'stylesheet', 'font', 'script', 'fetch', 'image'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Chromium's priority per resource type, as discovered by the parser (before layout). */
export const CHROMIUM_PRIORITY: Readonly<Record<ResourceType, Priority>> = Object.freeze({
  document: { urgency: 0, incremental: true }, // navigation: HIGHEST
  stylesheet: { urgency: 0, incremental: false }, // kVeryHigh -> HIGHEST
  font: { urgency: 0, incremental: false }, // kVeryHigh -> HIGHEST
  script: { urgency: 1, incremental: false }, // kHigh -> MEDIUM
  fetch: { urgency: 1, incremental: true }, // kRaw: kHigh -> MEDIUM
  image: { urgency: DEFAULT_PRIORITY.urgency, incremental: true }, // kLow -> LOWEST (u=3)
});

/** The Priority header value Chromium sends for `type` ('' = the default: no header). */
export function chromiumPriorityHeader(type: ResourceType): string {
  return formatPriority(CHROMIUM_PRIORITY[type]);
}
