// TCP congestion-control algorithms a scenario may pin (tcp_cc), set per namespace with
// net.ipv4.tcp_congestion_control. The kernel decides what is available; netem/topology.ts
// reads the setting back and fails when the kernel lacks the one asked for.
export const TCP_CC = ['cubic', 'reno', 'bbr'] as const;
export type TcpCc = (typeof TCP_CC)[number];
