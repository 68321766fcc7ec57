// QUIC congestion-control algorithms quiche offers (a scenario's quic_cc). Kept apart from
// quic.ts so reading the list does not load the native binding.
export const QUIC_CC = ['cubic', 'reno', 'bbr'] as const;
export type CcAlgorithm = (typeof QUIC_CC)[number];
