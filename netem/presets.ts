// Network presets: published connectivity profiles of other tools, by name, so a scenario can
// say `network: {preset: wpt-4g}` and get the numbers that tool uses. One table; every entry
// names its source file, the revision read, the day it was read and what was converted.
//
// Contract:
// - Values are the source's, converted to our terms only: rates in bit/s per direction, an
//   RTT split half each way (delay_ms = rtt/2 per direction) unless the entry says otherwise,
//   loss in percent per direction, queue in packets. Nothing is rounded or "improved".
// - Names carry the source's prefix (wpt-, lighthouse-, devtools-, throttle-, interop-): tools
//   disagree on what "3G" means (WebPageTest 3G: 300 ms RTT, throttle 3g: 150 ms), so each
//   keeps its own.
// - Request-level sources (Chrome DevTools) are mapped to packet-level settings: DevTools adds
//   its `latency` once per HTTP request (not per packet, not to handshakes) and scales it and
//   the throughput by fudge factors so that request-level emulation resembles a packet-level
//   link (latency = target RTT x 5 / 3.75 / 2.75, throughput x 0.8 / 0.9). A packet-level
//   emulator already pays handshakes and slow start itself, so the packet-level equivalent is
//   the target: RTT = targetLatency (= latency / factor) and rate = throughput / factor. That
//   is the same inversion Lighthouse applies when it simulates a DevTools-throttled run
//   (core/lib/lantern: rtt = requestLatencyMs / 3.75, throughput = downloadKbps / 0.9).
// - Resolution (netem/profile.ts): the preset first, then the scenario's explicit shared
//   fields, then its uplink/downlink fields.

export interface PresetSource {
  /** who publishes it */
  tool: string;
  /** the file the values were read from (a page address for humans) */
  url: string;
  /** git revision of that file as read (commit of the repository snapshot) */
  revision: string;
  /** the day the file was read, ISO date */
  retrieved: string;
}

export interface Preset {
  source: PresetSource;
  /** the source's own name of the profile and its raw values, as written there */
  original: string;
  /** how the raw values became ours (units, splits, anything not modelled) */
  note: string;
  downBps: number;
  upBps: number;
  rttMs: number;
  /** random loss per direction, % (absent: none) */
  lossPct?: number;
  /** tail-drop queue per direction, packets (absent: our default, 2 x BDP, at least 100) */
  queuePackets?: number;
  /** timed black holes, as network.outages */
  outages?: { from_s: number; to_s: number; direction: 'uplink' | 'downlink' | 'both' }[];
}

const RETRIEVED = '2026-11-30';

const WPT: PresetSource = {
  tool: 'WebPageTest',
  url: 'https://github.com/WPO-Foundation/webpagetest/blob/b85d6562cd7e4a9c22365902de1a47726b2497a8/www/settings/connectivity.ini.sample',
  revision: 'b85d6562cd7e4a9c22365902de1a47726b2497a8 (file last changed 2e9f361, 2017-12-11)',
  retrieved: RETRIEVED,
};
const LIGHTHOUSE: PresetSource = {
  tool: 'Lighthouse',
  url: 'https://github.com/GoogleChrome/lighthouse/blob/7ac9485dfdaf21e794c11333b4873f62cdb5d4c5/core/config/constants.js',
  revision: '7ac9485dfdaf21e794c11333b4873f62cdb5d4c5',
  retrieved: RETRIEVED,
};
const DEVTOOLS: PresetSource = {
  tool: 'Chrome DevTools',
  url: 'https://github.com/ChromeDevTools/devtools-frontend/blob/00d120bf0e61feb60bf7c31cf879454577904b77/front_end/core/sdk/NetworkManager.ts',
  revision: '00d120bf0e61feb60bf7c31cf879454577904b77',
  retrieved: RETRIEVED,
};
const THROTTLE: PresetSource = {
  tool: 'sitespeed.io throttle',
  url: 'https://github.com/sitespeedio/throttle/blob/255090d96622cf19674ff76b631a3f9b6ef1bdd8/bin/index.js',
  revision: '255090d96622cf19674ff76b631a3f9b6ef1bdd8 (bin/index.js last changed 518407a, 2026-03-23)',
  retrieved: RETRIEVED,
};
const INTEROP: PresetSource = {
  tool: 'QUIC interop runner',
  url: 'https://github.com/quic-interop/quic-interop-runner/blob/1d6f6554ac8e3b7c4cca0e3d40fd69f661420673/testcases_quic.py',
  revision: '1d6f6554ac8e3b7c4cca0e3d40fd69f661420673 (testcases_quic.py / testcase.py last changed 9ec06b5, 2026-03-07)',
  retrieved: RETRIEVED,
};

const wpt = (section: string, label: string, bwIn: number, bwOut: number, latency: number): Preset => ({
  source: WPT,
  original: `[${section}] label="${label}" bwIn=${bwIn} bwOut=${bwOut} latency=${latency} plr=0`,
  note: 'bwIn/bwOut are bit/s (the labels confirm: 5000000 = "5 Mbps"); latency is the RTT, split half each way (the file does not say how agents split it)',
  downBps: bwIn,
  upBps: bwOut,
  rttMs: latency,
});

/** throttle's profiles are kbit/s and an RTT that lib/tc.js applies as rtt/2 on each direction. */
const throttle = (name: string, down: number, up: number, rtt: number): Preset => ({
  source: THROTTLE,
  original: `'${name}': {down: ${down}, up: ${up}, rtt: ${rtt}}`,
  note: 'down/up in kbit/s (tc "kbit" = 1000 bit/s); rtt split half each way as lib/tc.js does (halfWayRTT = rtt / 2 on ingress and egress)',
  downBps: down * 1000,
  upBps: up * 1000,
  rttMs: rtt,
});

const INTEROP_P2P = 'simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25';
const interopNote = 'ns-3 --delay is one-way (quic-network-simulator sim/scenarios/*/README.md), so RTT = 2 x delay; --bandwidth both directions; --queue packets per direction';

export const PRESET_TABLE = {
  // WebPageTest www/settings/connectivity.ini.sample ([Native], no shaping, is left out)
  'wpt-cable': wpt('Cable', 'Cable (5/1 Mbps 28ms RTT)', 5_000_000, 1_000_000, 28),
  'wpt-dsl': wpt('DSL', 'DSL (1.5 Mbps/384 Kbps 50ms RTT)', 1_500_000, 384_000, 50),
  'wpt-3gslow': wpt('3GSlow', '3G Slow (400 Kbps, 400ms RTT)', 400_000, 400_000, 400),
  'wpt-3g-em': wpt('3G_EM', 'Emerging Markets 3G (400 Kbps, 400ms RTT)', 400_000, 400_000, 400),
  'wpt-3g': wpt('3G', '3G (1.6 Mbps/768 Kbps 300ms RTT)', 1_600_000, 768_000, 300),
  'wpt-3gfast': wpt('3GFast', '3G Fast (1.6 Mbps/768 Kbps 150ms RTT)', 1_600_000, 768_000, 150),
  'wpt-4g': wpt('4G', '4G (9 Mbps, 170ms RTT)', 9_000_000, 9_000_000, 170),
  'wpt-lte': wpt('LTE', 'LTE (12 Mbps, 70ms RTT)', 12_000_000, 12_000_000, 70),
  'wpt-edge': wpt('Edge', 'Mobile Edge (240 Kbps/200 Kbps 840ms RTT)', 240_000, 200_000, 840),
  'wpt-2g': wpt('2G', '2G (280 Kbps/256 Kbps 800ms RTT)', 280_000, 256_000, 800),
  'wpt-dial': wpt('Dial', '56K Dial-Up (49/30 Kbps 120ms RTT)', 49_000, 30_000, 120),
  'wpt-fios': wpt('FIOS', 'FIOS (20/5 Mbps 4ms RTT)', 20_000_000, 5_000_000, 4),

  // Lighthouse core/config/constants.js `throttling`. Lighthouse's Kbps are 1024 bit/s (Lantern:
  // throughput = throughputKbps * 1024); upload is given only as the DevTools-mode
  // uploadThroughputKbps (x 0.9), undone here as Lantern undoes the download one.
  'lighthouse-mobile-slow-4g': {
    source: LIGHTHOUSE,
    original: 'mobileSlow4G: {rttMs: 150, throughputKbps: 1.6 * 1024, requestLatencyMs: 150 * 3.75, downloadThroughputKbps: 1.6 * 1024 * 0.9, uploadThroughputKbps: 750 * 0.9}',
    note: 'packet-level: RTT = rttMs split half each way; down = throughputKbps x 1024 bit/s; up = uploadThroughputKbps / 0.9 x 1024 (DevTools adjustment undone). Lighthouse\'s default (throttlingMethod simulate).',
    downBps: 1.6 * 1024 * 1024,
    upBps: 750 * 1024,
    rttMs: 150,
  },
  'lighthouse-mobile-regular-3g': {
    source: LIGHTHOUSE,
    original: 'mobileRegular3G: {rttMs: 300, throughputKbps: 700, requestLatencyMs: 300 * 3.75, downloadThroughputKbps: 700 * 0.9, uploadThroughputKbps: 700 * 0.9}',
    note: 'packet-level: RTT = rttMs split half each way; down = up = 700 x 1024 bit/s',
    downBps: 700 * 1024,
    upBps: 700 * 1024,
    rttMs: 300,
  },
  'lighthouse-desktop-dense-4g': {
    source: LIGHTHOUSE,
    original: 'desktopDense4G: {rttMs: 40, throughputKbps: 10 * 1024, requestLatencyMs: 0, downloadThroughputKbps: 0, uploadThroughputKbps: 0}',
    note: 'packet-level: RTT = rttMs split half each way; one throughput (Lantern simulates one) applied both ways: 10 x 1024 x 1024 bit/s',
    downBps: 10 * 1024 * 1024,
    upBps: 10 * 1024 * 1024,
    rttMs: 40,
  },

  // Chrome DevTools front_end/core/sdk/NetworkManager.ts: request-level, mapped to packet level
  // as the header says (download/upload there are bytes/s, latency ms per request).
  'devtools-3g': {
    source: DEVTOOLS,
    original: 'Slow3GConditions ("3G", formerly "Slow 3G"): download 500 * 1000 / 8 * .8 B/s, upload 500 * 1000 / 8 * .8 B/s, latency 400 * 5 ms per request, targetLatency 400',
    note: 'packet-level: RTT = targetLatency 400 ms (request latency 2000 ms / 5), rates = 50000 B/s x 8 / 0.8 = 500 kbit/s each way; DevTools\'s own request-level numbers are 400 kbit/s and 2000 ms per request',
    downBps: 500_000,
    upBps: 500_000,
    rttMs: 400,
  },
  'devtools-slow-4g': {
    source: DEVTOOLS,
    original: 'Slow4GConditions ("Slow 4G", formerly "Fast 3G"): download 1.6 * 1000 * 1000 / 8 * .9 B/s, upload 750 * 1000 / 8 * .9 B/s, latency 150 * 3.75 ms per request, targetLatency 150',
    note: 'packet-level: RTT = targetLatency 150 ms (562.5 / 3.75), down 1.6 Mbit/s, up 750 kbit/s (B/s x 8 / 0.9); DevTools\'s own request-level numbers are 1.44 / 0.675 Mbit/s and 562.5 ms per request',
    downBps: 1_600_000,
    upBps: 750_000,
    rttMs: 150,
  },
  'devtools-fast-4g': {
    source: DEVTOOLS,
    original: 'Fast4GConditions ("Fast 4G"): download 9 * 1000 * 1000 / 8 * .9 B/s, upload 1.5 * 1000 * 1000 / 8 * .9 B/s, latency 60 * 2.75 ms per request, targetLatency 60',
    note: 'packet-level: RTT = targetLatency 60 ms (165 / 2.75), down 9 Mbit/s, up 1.5 Mbit/s (B/s x 8 / 0.9); DevTools\'s own request-level numbers are 8.1 / 1.35 Mbit/s and 165 ms per request',
    downBps: 9_000_000,
    upBps: 1_500_000,
    rttMs: 60,
  },

  // sitespeed.io throttle bin/index.js `profiles` (what Browsertime/sitespeed.io use with
  // --connectivity.engine throttle); 'fois' is the source's spelling.
  'throttle-3g': throttle('3g', 1600, 768, 150),
  'throttle-3gfast': throttle('3gfast', 1600, 768, 75),
  'throttle-3gslow': throttle('3gslow', 400, 400, 200),
  'throttle-2g': throttle('2g', 280, 256, 400),
  'throttle-cable': throttle('cable', 5000, 1000, 14),
  'throttle-dsl': throttle('dsl', 1500, 384, 25),
  'throttle-3gem': throttle('3gem', 400, 400, 200),
  'throttle-4g': throttle('4g', 9000, 9000, 85),
  'throttle-lte': throttle('lte', 12_000, 12_000, 35),
  'throttle-edge': throttle('edge', 240, 200, 420),
  'throttle-dial': throttle('dial', 49, 30, 60),
  'throttle-fois': throttle('fois', 20_000, 5000, 2),

  // QUIC interop runner testcases_quic.py / testcase.py: the ns-3 scenario strings.
  'interop-simple-p2p': {
    source: INTEROP,
    original: `TestCase.scenario() default: "${INTEROP_P2P}" (every case that does not override it: handshake, transfer, goodput, crosstraffic, ...)`,
    note: interopNote,
    downBps: 10e6, upBps: 10e6, rttMs: 30, queuePackets: 25,
  },
  'interop-crosstraffic': {
    source: INTEROP,
    original: `MeasurementCrossTraffic: scenario "${INTEROP_P2P}" (inherited), plus iperf containers with IPERF_CONGESTION=cubic`,
    note: `${interopNote}. The competing TCP flow is not part of a network preset: add it with cross_traffic (scenarios/crosstraffic.yaml)`,
    downBps: 10e6, upBps: 10e6, rttMs: 30, queuePackets: 25,
  },
  'interop-longrtt': {
    source: INTEROP,
    original: 'TestCaseLongRTT: "simple-p2p --delay=750ms --bandwidth=10Mbps --queue=25"',
    note: interopNote,
    downBps: 10e6, upBps: 10e6, rttMs: 1500, queuePackets: 25,
  },
  'interop-transferloss': {
    source: INTEROP,
    original: 'TestCaseTransferLoss: "drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=2 --rate_to_client=2 --burst_to_server=3 --burst_to_client=3"',
    note: `${interopNote}. Loss: random 2% each way; ns-3's cap of 3 drops in a row is not modelled (scenarios/interop-transferloss.yaml uses a Gilbert-Elliott model instead)`,
    downBps: 10e6, upBps: 10e6, rttMs: 30, queuePackets: 25, lossPct: 2,
  },
  'interop-handshakeloss': {
    source: INTEROP,
    original: 'TestCaseHandshakeLoss: "drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=30 --rate_to_client=30 --burst_to_server=3 --burst_to_client=3"',
    note: `${interopNote}. Loss: random 30% each way; ns-3's cap of 3 drops in a row is not modelled`,
    downBps: 10e6, upBps: 10e6, rttMs: 30, queuePackets: 25, lossPct: 30,
  },
  'interop-blackhole': {
    source: INTEROP,
    original: 'TestCaseBlackhole: "blackhole --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s --off=2s"',
    note: `${interopNote}. --on=5s --off=2s (repeat 1, direction both) = one outage from 5 s to 7 s of the job, both directions`,
    downBps: 10e6, upBps: 10e6, rttMs: 30, queuePackets: 25,
    outages: [{ from_s: 5, to_s: 7, direction: 'both' }],
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESET_TABLE;
export const PRESET_NAMES = Object.keys(PRESET_TABLE) as [PresetName, ...PresetName[]];

export function isPresetName(s: string): s is PresetName {
  return Object.hasOwn(PRESET_TABLE, s);
}

export function presetOf(name: PresetName): Preset {
  return PRESET_TABLE[name];
}

/** A preset as network-section fields (per direction), before the scenario's overrides. */
export function presetNetwork(name: PresetName): {
  uplink: { delay_ms: number; rate_bps: number; loss_pct?: number; queue_packets?: number };
  downlink: { delay_ms: number; rate_bps: number; loss_pct?: number; queue_packets?: number };
  outages?: Preset['outages'];
} {
  const p: Preset = PRESET_TABLE[name];
  const dir = (rateBps: number) => ({
    delay_ms: p.rttMs / 2,
    rate_bps: rateBps,
    ...(p.lossPct !== undefined ? { loss_pct: p.lossPct } : {}),
    ...(p.queuePackets !== undefined ? { queue_packets: p.queuePackets } : {}),
  });
  return { uplink: dir(p.upBps), downlink: dir(p.downBps), ...(p.outages ? { outages: p.outages.map((o) => ({ ...o })) } : {}) };
}
