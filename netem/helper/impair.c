// impair: a small netem-like packet impairment program on NFQUEUE.
//
// Speaks nfnetlink directly (only libc + linux-libc-dev headers). Binds one NFQUEUE
// queue per direction (uplink, downlink), copies the first 64 bytes of each packet
// (IP + TCP/UDP ports), holds packet ids and gives ACCEPT/DROP verdicts later.
//
// Pipeline per direction, in netem's order:
//   outage (blackhole) -> loss (random | Gilbert-Elliott | time-based burst) -> tail-drop
//   queue (limit packets / bytes / predicted wait) -> AQM at dequeue (CoDel) -> link (rate:
//   serialization time, or trace: Mahimahi delivery opportunities) -> delay +- jitter ->
//   release (arrival order unless reorder=1; the reorder knob lets chosen packets skip the
//   delay line).
// The queue stage is a real FIFO served lazily in model time: a packet's dequeue time is
// when the link can take it (the previous packet serialized, or the next opportunity), so
// AQM decisions and the queue delay (enqueue -> dequeue) are exact, whenever we run.
//
// Control protocol (stdin, one command per line; every reply is one stdout line that
// starts with the command's id):
//   <id> set <up|down> [delay_us=N] [jitter_us=N] [dist=uniform|normal]
//                      [loss=none|random:PCT|ge:P:R:ONE_MINUS_H:ONE_MINUS_K
//                            |burst:MEAN_GOOD_US:MEAN_BAD_US:LOSS_BAD_PCT:LOSS_GOOD_PCT]
//                      [rate_bps=N (0 = unlimited)] [limit=N] [limit_bytes=N (0 = none)]
//                      [limit_us=N (0 = none)] [aqm=none|codel:TARGET_US:INTERVAL_US]
//                      [trace=none|PERCENT-ENCODED-PATH] [reorder=0|1]
//                      [reorder_pct=P] [reorder_gap=N] [overhead=BYTES] [seed=N]
//   <id> reseed <N>       restart the PRNGs of BOTH directions from seed N (see "Pairing");
//                         also restarts the burst-loss clock and the trace at its line 1
//   <id> qdelay           -> "<id> ok {json}": queue delay per direction since the last
//                         qdelay (n, mean, p50, p99, max in ms), and restarts that window
//   <id> blackhole <up|down|both> <0|1>
//   <id> stats            -> "<id> ok {json}"
//   <id> flush            -> flush the drop log file
//   <id> quit
// Replies: "<id> ok", "<id> ok {json}" or "<id> err <message>".
// Unsolicited: "READY up=<q> down=<q> droplog=<path|->" once both queues are bound.
// Exits cleanly (accepting what it holds, unbinding the queues) on stdin EOF, "quit",
// SIGTERM or SIGINT.
//
// Pairing (common random numbers). Each direction has two PRNG streams derived from the
// seed (loss, jitter). Every packet that enters a direction takes EXACTLY two uniforms from
// each stream, whatever the configuration (loss none/random/GE, blackhole on or off,
// jitter or not, later dropped by the queue or not):
//   loss:   random loses when u1 < p; GE moves state on u1, then loses on u2 (netem order)
//   jitter: uniform uses u1; normal uses Box-Muller(u1, u2)
// So after `reseed N` (or `set ... seed=N`), the loss decision and the jitter of the k-th
// packet in a direction depend only on (N, direction, k and the configuration), never on
// timing, on other packets' fates, or on the other direction. Two more streams per
// direction: the reorder knob's (one uniform per packet, always) and the burst-loss clock's
// (one exponential duration per good/bad period, consumed by time, not by packets; a
// burst-loss packet loses on u2 of the loss stream in the clock's state). Two protocols send
// different packets, so "the same losses" means the same decision sequence by packet index,
// which is what common random numbers need. A reseed also resets the GE state to good and
// the packet index to 0 ("since_seed" in stats), restarts the burst clock (good state) and a
// trace at its first line (so every job meets the same trace phase and burst timing), and
// touches nothing else: held packets and the queue keep going.
//
// Drop log (--droplog PATH; the file is unlinked at once and readable while we live at the
// path the READY line names, droplog=/proc/<pid>/fd/<n>): one CSV line per dropped packet:
//   <wall-clock ms>,<up|down>,<loss|queue|outage|aqm>,<tcp|udp|other>,<sport>,<dport>
//
// Threads: one worker per direction, each with its own netlink socket and queue, so the
// kernel work a verdict triggers (forwarding, the receiver's TCP, the ACKs it sends) is
// split over two CPUs instead of all landing on one thread. The main thread owns stdin
// and signals; per-direction state is guarded by that direction's mutex.
//
// Timing: timerfd armed SPIN_NS before the next release, then a busy-wait (that also
// keeps reading arrivals; their delay starts at the kernel's receive timestamp anyway).
// No SCHED_FIFO: spinning real-time threads can starve each other on a small machine;
// instead a heavier fair-class weight (nice, own autogroup).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define COPY_BYTES 64
#define QUEUE_MAXLEN 65536
#define RECV_BATCH 64
#define RECV_BUF (COPY_BYTES + 256)
#define SPIN_NS 200000ULL       /* busy-wait this long before a release */
#define MAX_ARRIVALS_PER_ROUND 4096 /* bound one drain so releases are not starved */
#define LAT_FINE 10000          /* 1 us buckets below 10 ms */
#define LAT_COARSE 10000        /* then 100 us buckets up to ~1 s */
#define SENDBUF_BYTES 65536
#define QRING_CAP (1u << 20)    /* packets the queue stage can hold (> max limit 1e6); power of 2 */
#define TRACE_BYTES 1500        /* bytes one trace delivery opportunity carries (Mahimahi's MTU) */
#define TRACE_MAX_LINES (1u << 24)
#define TRACE_MAX_MS 4000000000ULL /* ~46 days: keeps ms * 1e6 far from overflow */
#define QD_BUCKET_US 100        /* queue-delay histogram: 100 us buckets ... */
#define QD_BUCKETS 100000       /* ... up to 10 s, then one overflow bucket */
#define MTU_BACKLOG_BYTES 1514  /* CoDel: never drop when no more than one MTU is queued */

/* ---------- small utilities ---------- */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "impair: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

/* Write a whole line to stdout (unbuffered: the controller waits for it). */
static void out_line(const char *s) {
  size_t len = strlen(s), off = 0;
  int tries = 0;
  while (off < len && tries++ < 1000) {
    ssize_t n = write(1, s + off, len - off);
    if (n > 0) off += (size_t)n;
    else if (n < 0 && errno != EINTR && errno != EAGAIN) return; /* controller gone */
  }
}

/* ---------- PRNG: xoshiro256** seeded by splitmix64 ---------- */

typedef struct { uint64_t s[4]; } rng_t;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed * 0x100000001b3ULL ^ (stream + 1) * 0xd6e8feb86659fd93ULL;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t; s[3] = rotl(s[3], 45);
  return result;
}

/* uniform in [0, 1) */
static double rng_u01(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* ---------- per-direction state ---------- */

enum { LOSS_NONE, LOSS_RANDOM, LOSS_GE, LOSS_BURST };
enum { CAUSE_LOSS, CAUSE_QUEUE, CAUSE_OUTAGE, CAUSE_AQM, N_CAUSES };
static const char *CAUSE_NAME[] = {"loss", "queue", "outage", "aqm"};

/* A packet in the queue stage (in front of the rate or trace link). */
typedef struct {
  uint64_t arr_ns;   /* enqueue time */
  int64_t jit_ns;    /* its jitter offset, drawn at arrival */
  uint32_t id;       /* kernel packet id */
  uint32_t bytes;    /* IP length */
  uint32_t left;     /* trace: bytes not yet carried by an opportunity */
  uint8_t started;   /* trace: dequeued (AQM decided, delay recorded), partly carried */
  uint8_t jump;      /* reorder knob: skips the delay line */
} qpkt_t;

typedef struct {
  uint64_t rel_ns; /* scheduled release */
  uint64_t seq;    /* arrival order, tie-break */
  uint32_t id;     /* kernel packet id */
  uint8_t reorder; /* enqueued while reorder=1 */
} held_t;

typedef struct {
  uint64_t delay_ns, jitter_ns;
  int dist_normal;
  int loss_kind;
  double loss_p;                   /* random: probability */
  double ge_p, ge_r, ge_1h, ge_1k; /* GE, probabilities */
  double rate_bps;                 /* 0 = unlimited */
  uint32_t limit;                  /* packets in the rate stage */
  uint32_t overhead;               /* bytes added to the IP length for the rate (14 = Ethernet, as netem on veth) */
  int reorder;
  uint64_t limit_bytes;            /* 0 = none: tail-drop when queued bytes would exceed it */
  uint64_t limit_ns;               /* 0 = none: tail-drop when the predicted wait exceeds it */
  int aqm_codel;                   /* CoDel at dequeue (RFC 8289) */
  uint64_t codel_target_ns, codel_interval_ns;
  double reorder_p;                /* reorder knob: P(a packet skips the delay line) ... */
  uint32_t reorder_gap;            /* ... once gap-1 packets went the normal way (netem's gap) */
  double burst_good_ns, burst_bad_ns; /* time-based loss: mean state durations */
  double burst_p_bad, burst_p_good;   /* P(loss) in the bad / good state */
  uint32_t *trace_ms;              /* delivery opportunities, ms (NULL = no trace) */
  uint32_t trace_n;
  uint64_t trace_period_ms;        /* = last timestamp: the trace loops with this period */
  char trace_path[512];            /* what was loaded (a `set` naming it again keeps it) */
} cfg_t;

typedef struct {
  const char *name; /* "up" / "down" */
  int idx;
  uint16_t qnum;
  pthread_mutex_t mu; /* guards everything below but the netlink/timer fds */
  pthread_t thread;
  int nl_fd, tfd, evfd;
  uint32_t nl_seq;
  char sendbuf[SENDBUF_BYTES] __attribute__((aligned(8)));
  size_t sendlen;
  int64_t real_minus_mono_ns; /* refreshed per receive batch */
  uint64_t armed_for;
  cfg_t c;
  int ge_bad;
  int blackhole;
  uint64_t seed;
  rng_t loss_rng, jit_rng;
  uint64_t since_seed; /* packets (= decisions) since the last (re)seed */
  /* queue stage: FIFO in front of the link (rate or trace); served lazily in virtual time */
  uint64_t link_free_ns;
  qpkt_t *q;
  size_t qhead, qlen;
  uint64_t queued_bytes;           /* bytes still to be carried by the link */
  /* trace link: global opportunity index (cycle * n + line) and bytes left in it */
  uint64_t trace_base_ns, opp;
  uint32_t opp_left;
  /* CoDel state (RFC 8289 names) */
  uint64_t cd_first_above, cd_drop_next;
  uint32_t cd_count, cd_lastcount;
  int cd_dropping;
  /* time-based burst loss: state and when it ends */
  rng_t burst_rng, ro_rng;
  int burst_bad;
  uint64_t burst_until_ns;
  uint32_t reorder_counter;
  /* queue delay (enqueue -> dequeue) since the last `qdelay` read */
  uint64_t qd_hist[QD_BUCKETS + 1];
  uint64_t qd_n, qd_max_ns;
  double qd_sum_ns;
  uint64_t last_rel_ns;
  /* held packets: binary min-heap on (rel_ns, seq) */
  held_t *heap;
  size_t hlen, hcap;
  size_t held_reorder;
  uint64_t seq;
  /* stats */
  uint64_t packets, delivered, drops[N_CAUSES], drops_other, bytes_in, bytes_out;
  uint64_t queue_peak;
  uint64_t lat_hist[LAT_FINE + LAT_COARSE + 1];
  uint64_t lat_n, lat_max_us;
  uint64_t enobufs, nl_errors, send_errors, recv_calls, recv_msgs, kernel_ts_used, gso_packets;
} dir_t;

static dir_t dirs[2];

/* Restart this direction's decision sequence: both streams, the GE state and the packet
 * index. Called with d->mu held (or before the workers start). Leaves held packets and the
 * rate stage alone, so a reseed never delays, drops or reorders anything already accepted. */
static void burst_restart(dir_t *d, uint64_t now);
static void trace_restart(dir_t *d, uint64_t now);

static void dir_seed(dir_t *d, uint64_t seed, int idx) {
  d->seed = seed;
  rng_seed(&d->loss_rng, seed, (uint64_t)idx * 2);
  rng_seed(&d->jit_rng, seed, (uint64_t)idx * 2 + 1);
  rng_seed(&d->burst_rng, seed, 4 + (uint64_t)idx * 2);
  rng_seed(&d->ro_rng, seed, 5 + (uint64_t)idx * 2);
  d->ge_bad = 0;
  d->since_seed = 0;
  d->reorder_counter = 0;
  uint64_t now = mono_ns();
  burst_restart(d, now);
  trace_restart(d, now);
}

static void dir_init(dir_t *d, const char *name, uint16_t qnum, int idx) {
  memset(d, 0, sizeof *d);
  d->name = name;
  d->idx = idx;
  d->qnum = qnum;
  d->nl_fd = d->tfd = d->evfd = -1;
  d->nl_seq = 1;
  pthread_mutex_init(&d->mu, NULL);
  d->c.limit = 1000;
  d->c.reorder_gap = 1;
  d->c.overhead = 14;
  d->q = calloc(QRING_CAP, sizeof *d->q); /* untouched pages cost nothing */
  d->hcap = 1u << 16;
  d->heap = malloc(d->hcap * sizeof *d->heap);
  if (!d->q || !d->heap) die("out of memory");
  d->opp_left = TRACE_BYTES;
  dir_seed(d, 1, idx);
}

static int held_less(const held_t *a, const held_t *b) {
  return a->rel_ns < b->rel_ns || (a->rel_ns == b->rel_ns && a->seq < b->seq);
}

static void heap_push(dir_t *d, held_t h) {
  if (d->hlen == d->hcap) {
    d->hcap *= 2;
    d->heap = realloc(d->heap, d->hcap * sizeof *d->heap);
    if (!d->heap) die("out of memory");
  }
  size_t i = d->hlen++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!held_less(&h, &d->heap[p])) break;
    d->heap[i] = d->heap[p];
    i = p;
  }
  d->heap[i] = h;
}

static held_t heap_pop(dir_t *d) {
  held_t top = d->heap[0], last = d->heap[--d->hlen];
  size_t i = 0, n = d->hlen;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && held_less(&d->heap[c + 1], &d->heap[c])) c++;
    if (!held_less(&d->heap[c], &last)) break;
    d->heap[i] = d->heap[c];
    i = c;
  }
  if (n) d->heap[i] = last;
  return top;
}

static void lat_record(dir_t *d, uint64_t late_ns) {
  uint64_t us = late_ns / 1000;
  size_t b = us < LAT_FINE ? us : LAT_FINE + ((us - LAT_FINE) / 100 < LAT_COARSE ? (us - LAT_FINE) / 100 : LAT_COARSE);
  d->lat_hist[b]++;
  d->lat_n++;
  if (us > d->lat_max_us) d->lat_max_us = us;
}

static uint64_t lat_pct(const dir_t *d, double q) {
  if (!d->lat_n) return 0;
  uint64_t want = (uint64_t)ceil(q * (double)d->lat_n), acc = 0;
  if (want < 1) want = 1;
  for (size_t b = 0; b <= LAT_FINE + LAT_COARSE; b++) {
    acc += d->lat_hist[b];
    if (acc >= want) {
      uint64_t us = b < LAT_FINE ? b : LAT_FINE + (b - LAT_FINE) * 100;
      return us < d->lat_max_us ? us : d->lat_max_us;
    }
  }
  return d->lat_max_us;
}

/* ---------- netlink plumbing ---------- */


static void *nl_put_attr(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len) {
  struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  if (len) memcpy((char *)a + NLA_HDRLEN, data, len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
  return a;
}

static struct nlmsghdr *nl_start(dir_t *d, char *buf, uint16_t msgtype, uint16_t flags) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | msgtype);
  nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  nlh->nlmsg_seq = d->nl_seq++;
  nlh->nlmsg_pid = 0;
  struct nfgenmsg *g = NLMSG_DATA(nlh);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(d->qnum);
  return nlh;
}

/* Send one config message (one or two attributes) and wait for its ACK. 0 or -errno. */
static int nl_config2(dir_t *d, uint16_t attr, const void *data, size_t len, uint16_t attr2, const void *data2, size_t len2) {
  char buf[256] __attribute__((aligned(4)));
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nlh = nl_start(d, buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
  nl_put_attr(nlh, attr, data, len);
  if (data2) nl_put_attr(nlh, attr2, data2, len2);
  uint32_t seq = nlh->nlmsg_seq;
  if (send(d->nl_fd, buf, nlh->nlmsg_len, 0) < 0) return -errno;
  char rbuf[8192] __attribute__((aligned(4)));
  for (int tries = 0; tries < 100; tries++) {
    ssize_t n = recv(d->nl_fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) continue;
      return -errno; /* EAGAIN after SO_RCVTIMEO: no answer */
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == seq) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error;
      }
    }
  }
  return -ETIMEDOUT;
}

static int nl_config(dir_t *d, uint16_t attr, const void *data, size_t len) {
  return nl_config2(d, attr, data, len, 0, NULL, 0);
}

static void nl_flush(dir_t *d) {
  if (!d->sendlen) return;
  for (int tries = 0; tries < 100; tries++) {
    ssize_t n = send(d->nl_fd, d->sendbuf, d->sendlen, 0);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == ENOBUFS || errno == EAGAIN) { /* kernel busy; retry briefly */
      struct timespec ts = {0, 20000};
      nanosleep(&ts, NULL);
      continue;
    }
    d->send_errors++;
    break;
  }
  d->sendlen = 0;
}

static void nl_verdict(dir_t *d, uint32_t id, uint32_t verdict, int batch) {
  if (d->sendlen + 64 > sizeof d->sendbuf) nl_flush(d);
  char *p = d->sendbuf + d->sendlen;
  memset(p, 0, 64);
  struct nlmsghdr *nlh = nl_start(d, p, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, 0);
  struct nfqnl_msg_verdict_hdr vh = {htonl(verdict), htonl(id)};
  nl_put_attr(nlh, NFQA_VERDICT_HDR, &vh, sizeof vh);
  d->sendlen += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* ---------- drop log ---------- */

static FILE *droplog;

typedef struct {
  uint32_t ip_len;
  uint8_t proto;
  uint16_t sport, dport;
} pktinfo_t;

static void log_drop(const dir_t *d, int cause, const pktinfo_t *pi) {
  if (!droplog) return;
  const char *proto = pi->proto == 6 ? "tcp" : pi->proto == 17 ? "udp" : "other";
  fprintf(droplog, "%.3f,%s,%s,%s,%u,%u\n", wall_ms(), d->name, CAUSE_NAME[cause], proto, pi->sport, pi->dport);
}

/* ---------- the pipeline ---------- */

/* ---- time-based burst loss: a two-state chain on the clock, not on packets ----
 * Good and bad periods last exponential times (means burst_good_ns / burst_bad_ns), drawn
 * from their own stream (burst_rng) in sequence, so the state at time t after a (re)seed
 * depends on (seed, direction, t) only, however many packets flow. A burst meant to last
 * 40 ms lasts 40 ms whether 2 or 2000 packets cross it (netem's per-packet gemodel would
 * stretch it over retransmission timeouts when few packets flow). */
static double exp_draw(rng_t *r, double mean) {
  double u = rng_u01(r);
  return -mean * log(1.0 - u); /* u < 1, so finite */
}

static void burst_restart(dir_t *d, uint64_t now) {
  d->burst_bad = 0;
  d->burst_until_ns = now + (uint64_t)exp_draw(&d->burst_rng, d->c.burst_good_ns);
}

static void burst_advance(dir_t *d, uint64_t now) {
  /* bounded: after a long idle spell the chain is restarted (memoryless; the good state
   * is drawn afresh) instead of walking millions of short periods */
  for (int guard = 0; now >= d->burst_until_ns; guard++) {
    if (guard > 100000) {
      burst_restart(d, now);
      return;
    }
    d->burst_bad = !d->burst_bad;
    double mean = d->burst_bad ? d->c.burst_bad_ns : d->c.burst_good_ns;
    d->burst_until_ns += (uint64_t)exp_draw(&d->burst_rng, mean) + 1;
  }
}

/* The loss decision for one packet. Always takes two uniforms (see "Pairing"). */
static int lose(dir_t *d, uint64_t now) {
  double u1 = rng_u01(&d->loss_rng), u2 = rng_u01(&d->loss_rng);
  switch (d->c.loss_kind) {
  case LOSS_RANDOM:
    return u1 < d->c.loss_p;
  case LOSS_GE: {
    /* netem loss_gilb_ell(): transition first, then lose with the old state's probability */
    if (!d->ge_bad) {
      if (u1 < d->c.ge_p) d->ge_bad = 1;
      return u2 < d->c.ge_1k;
    }
    if (u1 < d->c.ge_r) d->ge_bad = 0;
    return u2 < d->c.ge_1h;
  }
  case LOSS_BURST:
    burst_advance(d, now);
    return u2 < (d->burst_bad ? d->c.burst_p_bad : d->c.burst_p_good);
  default:
    return 0;
  }
}

/* The jitter offset for one packet, ns. Always takes two uniforms (see "Pairing"), so it is
 * drawn for dropped packets too (and thrown away). */
static double jitter_offset_ns(dir_t *d) {
  double u1 = rng_u01(&d->jit_rng), u2 = rng_u01(&d->jit_rng);
  if (!d->c.jitter_ns) return 0;
  double j = (double)d->c.jitter_ns;
  if (!d->c.dist_normal) return (u1 * 2.0 - 1.0) * j;
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2) * j;
}

static uint64_t jittered(uint64_t base, double off_ns) {
  double v = (double)base + off_ns;
  return v < 0 ? 0 : (uint64_t)v;
}

/* ---- trace link (Mahimahi semantics) ----
 * Line i of the trace is a time t_i in ms at which up to TRACE_BYTES bytes may leave; the
 * trace loops with period t_{n-1}. Opportunity k (global) is at base + (k / n) * period +
 * t_{k % n}. An opportunity that finds the queue empty is lost; one packet may span
 * several opportunities and one opportunity may carry several small packets (byte
 * budget), as in Mahimahi's link queue. */
static uint64_t opp_time(const dir_t *d, uint64_t k) {
  uint64_t n = d->c.trace_n, cyc = k / n;
  return d->trace_base_ns + (cyc * d->c.trace_period_ms + d->c.trace_ms[k % n]) * 1000000ULL;
}

static void trace_restart(dir_t *d, uint64_t now) {
  d->trace_base_ns = now;
  d->opp = 0;
  d->opp_left = TRACE_BYTES;
}

/* Move to the first opportunity at or after `t` (never backwards); it is full. */
static void trace_skip_to(dir_t *d, uint64_t t) {
  if (opp_time(d, d->opp) >= t) return;
  uint64_t period_ns = d->c.trace_period_ms * 1000000ULL, rel = t - d->trace_base_ns;
  uint64_t cyc = rel / period_ns, off = rel - cyc * period_ns;
  /* lower bound: first line with t_i * 1e6 >= off; exists since t_{n-1} = period > off */
  uint32_t lo = 0, hi = d->c.trace_n - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if ((uint64_t)d->c.trace_ms[mid] * 1000000ULL >= off) hi = mid;
    else lo = mid + 1;
  }
  uint64_t k = cyc * d->c.trace_n + lo;
  if (k > d->opp) d->opp = k;
  d->opp_left = TRACE_BYTES;
}

/* ---- queue delay record (enqueue -> dequeue, i.e. the wait before the link takes it) ---- */
static void qd_record(dir_t *d, uint64_t ns) {
  uint64_t b = ns / 1000 / QD_BUCKET_US;
  d->qd_hist[b < QD_BUCKETS ? b : QD_BUCKETS]++;
  d->qd_n++;
  d->qd_sum_ns += (double)ns;
  if (ns > d->qd_max_ns) d->qd_max_ns = ns;
}

static double qd_pct_ms(const dir_t *d, double q) {
  if (!d->qd_n) return 0;
  uint64_t want = (uint64_t)ceil(q * (double)d->qd_n), acc = 0;
  if (want < 1) want = 1;
  for (size_t b = 0; b <= QD_BUCKETS; b++) {
    acc += d->qd_hist[b];
    if (acc >= want) {
      /* the bucket's upper edge, capped by the maximum seen */
      double ms = (double)((b + 1) * QD_BUCKET_US) / 1000.0, max_ms = (double)d->qd_max_ns / 1e6;
      return ms < max_ms ? ms : max_ms;
    }
  }
  return (double)d->qd_max_ns / 1e6;
}

/* ---- CoDel (RFC 8289), run when the link takes the head packet at virtual time `now` ----
 * Returns 1 to drop it. `backlog` = bytes still queued behind it. */
static int codel_should_drop(dir_t *d, uint64_t sojourn, uint64_t now, uint64_t backlog) {
  if (sojourn < d->c.codel_target_ns || backlog <= MTU_BACKLOG_BYTES) {
    d->cd_first_above = 0;
    return 0;
  }
  if (d->cd_first_above == 0) {
    d->cd_first_above = now + d->c.codel_interval_ns;
    return 0;
  }
  return now >= d->cd_first_above;
}

static uint64_t codel_control_law(const dir_t *d, uint64_t t) {
  return t + (uint64_t)((double)d->c.codel_interval_ns / sqrt((double)(d->cd_count ? d->cd_count : 1)));
}

static int codel_drop(dir_t *d, uint64_t sojourn, uint64_t now, uint64_t backlog) {
  int ok_to_drop = codel_should_drop(d, sojourn, now, backlog);
  if (d->cd_dropping) {
    if (!ok_to_drop) {
      d->cd_dropping = 0;
      return 0;
    }
    if (now >= d->cd_drop_next) {
      d->cd_count++;
      d->cd_drop_next = codel_control_law(d, d->cd_drop_next);
      return 1;
    }
    return 0;
  }
  if (!ok_to_drop) return 0;
  d->cd_dropping = 1;
  uint32_t delta = d->cd_count - d->cd_lastcount;
  /* signed: drop_next may lie ahead of now (dropping stopped only just now) */
  d->cd_count = delta > 1 && (int64_t)(now - d->cd_drop_next) < (int64_t)(16 * d->c.codel_interval_ns) ? delta : 1;
  d->cd_drop_next = codel_control_law(d, now);
  d->cd_lastcount = d->cd_count;
  return 1;
}

static void drop_pkt(dir_t *d, uint32_t id, int cause, const pktinfo_t *pi) {
  d->drops[cause]++;
  log_drop(d, cause, pi);
  nl_verdict(d, id, NF_DROP, 0);
}

/* Hand a packet that left the link at `depart` to the delay line. */
static void schedule(dir_t *d, uint32_t id, uint32_t bytes, uint64_t depart, double jit_ns, int jump) {
  uint64_t rel;
  int ooo = d->c.reorder != 0;
  if (jump) {
    rel = depart; /* reorder knob: this one skips the delay line (netem's "reorder") */
    ooo = 1;
  } else {
    rel = jittered(depart + d->c.delay_ns, jit_ns);
    if (!d->c.reorder && rel < d->last_rel_ns) rel = d->last_rel_ns;
    if (rel > d->last_rel_ns) d->last_rel_ns = rel;
  }
  held_t h = {rel, d->seq++, id, (uint8_t)ooo};
  if (h.reorder) d->held_reorder++;
  heap_push(d, h);
  d->bytes_out += bytes;
}

static int have_link(const dir_t *d) { return d->c.trace_ms != NULL || d->c.rate_bps > 0; }

static uint64_t ser_ns(const dir_t *d, uint32_t bytes) {
  return (uint64_t)((double)(bytes + d->c.overhead) * 8.0 * 1e9 / d->c.rate_bps + 0.5);
}

/* Serve the queue up to virtual time `now`: each head packet leaves when the link can take
 * it (rate: when the previous one is serialized; trace: at the next opportunity). Lazy and
 * exact: times come from the model, not from when we got round to it. */
static void serve(dir_t *d, uint64_t now) {
  for (uint32_t guard = 0; d->qlen && guard < 4 * QRING_CAP; guard++) {
    qpkt_t *p = &d->q[d->qhead];
    uint64_t t;
    int trace = d->c.trace_ms != NULL;
    if (trace) {
      t = opp_time(d, d->opp);
      if (t < p->arr_ns) { /* the link idled: those opportunities are gone */
        trace_skip_to(d, p->arr_ns);
        continue;
      }
    } else {
      t = d->link_free_ns > p->arr_ns ? d->link_free_ns : p->arr_ns;
    }
    if (t > now) break;
    if (!p->started) {
      uint64_t sojourn = t - p->arr_ns;
      if (d->c.aqm_codel && codel_drop(d, sojourn, t, d->queued_bytes - p->left)) {
        pktinfo_t pi = {p->bytes, 0, 0, 0};
        d->queued_bytes -= p->left;
        drop_pkt(d, p->id, CAUSE_AQM, &pi);
        d->qhead = (d->qhead + 1) & (QRING_CAP - 1);
        d->qlen--;
        continue;
      }
      qd_record(d, sojourn);
      p->started = 1;
    }
    uint64_t depart;
    if (trace) {
      uint32_t take = p->left < d->opp_left ? p->left : d->opp_left;
      p->left -= take;
      d->opp_left -= take;
      d->queued_bytes -= take;
      if (d->opp_left == 0) {
        d->opp++;
        d->opp_left = TRACE_BYTES;
      }
      if (p->left) continue; /* the rest goes with later opportunities */
      depart = t;
    } else {
      depart = t + ser_ns(d, p->bytes);
      d->link_free_ns = depart;
      d->queued_bytes -= p->left;
    }
    qpkt_t done = *p;
    d->qhead = (d->qhead + 1) & (QRING_CAP - 1);
    d->qlen--;
    schedule(d, done.id, done.bytes, depart, (double)done.jit_ns, done.jump);
  }
}

/* When serve() has work next (UINT64_MAX: nothing queued). */
static uint64_t next_service(dir_t *d) {
  if (!d->qlen) return UINT64_MAX;
  const qpkt_t *p = &d->q[d->qhead];
  if (d->c.trace_ms) {
    if (opp_time(d, d->opp) < p->arr_ns) trace_skip_to(d, p->arr_ns);
    return opp_time(d, d->opp);
  }
  return d->link_free_ns > p->arr_ns ? d->link_free_ns : p->arr_ns;
}

/* How long a packet arriving now would wait before the link takes it (queue_ms limit). */
static uint64_t predicted_wait_ns(dir_t *d, uint64_t now) {
  if (!d->qlen) return 0;
  uint64_t end;
  if (d->c.trace_ms) {
    uint64_t start = next_service(d);
    uint64_t more = (d->queued_bytes + (TRACE_BYTES - d->opp_left)) / TRACE_BYTES;
    end = start > opp_time(d, d->opp + more) ? start : opp_time(d, d->opp + more);
  } else {
    uint64_t start = next_service(d);
    end = start + (uint64_t)((double)(d->queued_bytes + (uint64_t)d->c.overhead * d->qlen) * 8.0 * 1e9 / d->c.rate_bps);
  }
  return end > now ? end - now : 0;
}

/* The reorder knob (netem's reorder P gap G): after gap-1 packets took the normal path, the
 * next one skips the delay line with probability P. One uniform per packet, always. */
static int reorder_jump(dir_t *d, int passes) {
  double u = rng_u01(&d->ro_rng);
  if (!passes || d->c.reorder_p <= 0) return 0;
  if (d->reorder_counter + 1 < d->c.reorder_gap || u >= d->c.reorder_p) {
    d->reorder_counter++;
    return 0;
  }
  d->reorder_counter = 0;
  return 1;
}

static void arrive(dir_t *d, uint32_t id, const pktinfo_t *pi, uint64_t now) {
  d->packets++;
  d->since_seed++;
  d->bytes_in += pi->ip_len;
  /* all draws first, for every packet: decision k depends on the seed and k only */
  int lost = lose(d, now);
  double jit_ns = jitter_offset_ns(d);
  int cause = -1;
  if (d->blackhole) cause = CAUSE_OUTAGE;
  else if (lost) cause = CAUSE_LOSS;
  int jump = reorder_jump(d, cause < 0);
  if (cause < 0 && have_link(d)) {
    serve(d, now); /* the queue as it stands at this packet's arrival */
    if (d->qlen >= d->c.limit || d->qlen >= QRING_CAP - 1) cause = CAUSE_QUEUE;
    else if (d->c.limit_bytes && d->queued_bytes + pi->ip_len > d->c.limit_bytes) cause = CAUSE_QUEUE;
    else if (d->c.limit_ns && predicted_wait_ns(d, now) > d->c.limit_ns) cause = CAUSE_QUEUE;
    else {
      qpkt_t *p = &d->q[(d->qhead + d->qlen) & (QRING_CAP - 1)];
      *p = (qpkt_t){now, (int64_t)jit_ns, id, pi->ip_len, pi->ip_len, 0, (uint8_t)jump};
      d->qlen++;
      d->queued_bytes += pi->ip_len;
      if (d->qlen > d->queue_peak) d->queue_peak = d->qlen;
      serve(d, now); /* an idle rate link takes it at once */
      return;
    }
  }
  if (cause >= 0) {
    drop_pkt(d, id, cause, pi);
    return;
  }
  schedule(d, id, pi->ip_len, now, jit_ns, jump);
}

/* Release everything due at `now`. In-order runs go out as one batch verdict. */
static void release_due(dir_t *d, uint64_t now) {
  int have_batch = 0;
  uint32_t batch_id = 0;
  for (size_t guard = 0; d->hlen && d->heap[0].rel_ns <= now && guard < (1u << 22); guard++) {
    held_t h = heap_pop(d);
    lat_record(d, now - h.rel_ns);
    d->delivered++;
    if (h.reorder) d->held_reorder--;
    if (!h.reorder && d->held_reorder == 0) {
      /* every older packet of this queue has had its verdict: batch is safe */
      have_batch = 1;
      batch_id = h.id;
    } else {
      if (have_batch) {
        nl_verdict(d, batch_id, NF_ACCEPT, 1);
        have_batch = 0;
      }
      nl_verdict(d, h.id, NF_ACCEPT, 0);
    }
  }
  if (have_batch) nl_verdict(d, batch_id, NF_ACCEPT, 1);
}

static void parse_pkt(const uint8_t *p, size_t len, pktinfo_t *pi) {
  memset(pi, 0, sizeof *pi);
  if (len < 20 || (p[0] >> 4) != 4) {
    pi->ip_len = (uint32_t)len;
    return;
  }
  pi->ip_len = ((uint32_t)p[2] << 8) | p[3];
  pi->proto = p[9];
  size_t ihl = (size_t)(p[0] & 0x0f) * 4;
  if ((pi->proto == 6 || pi->proto == 17) && len >= ihl + 4) {
    pi->sport = (uint16_t)((p[ihl] << 8) | p[ihl + 1]);
    pi->dport = (uint16_t)((p[ihl + 2] << 8) | p[ihl + 3]);
  }
}

static void handle_nl_msg(dir_t *d, struct nlmsghdr *h, uint64_t now) {
  if (h->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr *e = NLMSG_DATA(h);
    if (e->error) {
      if (d->nl_errors++ < 5) fprintf(stderr, "impair: %s: netlink error %d (%s)\n", d->name, e->error, strerror(-e->error));
    }
    return;
  }
  if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) return;
  struct nfgenmsg *g = NLMSG_DATA(h);
  int attrlen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *g);
  struct nlattr *a = (struct nlattr *)((char *)g + NLMSG_ALIGN(sizeof *g));
  uint32_t id = 0;
  int have_id = 0;
  const uint8_t *payload = NULL;
  size_t plen = 0;
  uint64_t ts_real_ns = 0;
  uint32_t skbinfo = 0;
  for (int guard = 0; attrlen >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= attrlen && guard < 64; guard++) {
    uint16_t type = a->nla_type & NLA_TYPE_MASK;
    if (type == NFQA_PACKET_HDR && a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
      struct nfqnl_msg_packet_hdr *ph = (void *)((char *)a + NLA_HDRLEN);
      id = ntohl(ph->packet_id);
      have_id = 1;
    } else if (type == NFQA_TIMESTAMP && a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_timestamp)) {
      struct nfqnl_msg_packet_timestamp *t = (void *)((char *)a + NLA_HDRLEN);
      ts_real_ns = be64toh(t->sec) * 1000000000ULL + be64toh(t->usec) * 1000ULL;
    } else if (type == NFQA_SKB_INFO && a->nla_len >= NLA_HDRLEN + 4) {
      uint32_t v;
      memcpy(&v, (char *)a + NLA_HDRLEN, 4);
      skbinfo = ntohl(v);
    } else if (type == NFQA_PAYLOAD) {
      payload = (const uint8_t *)a + NLA_HDRLEN;
      plen = a->nla_len - NLA_HDRLEN;
    }
    int step = NLA_ALIGN(a->nla_len);
    attrlen -= step;
    a = (struct nlattr *)((char *)a + step);
  }
  if (!have_id || ntohs(g->res_id) != d->qnum) return; /* one queue per socket: cannot happen */
  if (skbinfo & NFQA_SKB_GSO) {
    if (d->gso_packets++ == 0)
      fprintf(stderr, "impair: warning: GSO super-packets reach the queue; turn GSO/TSO/GRO off on the path "
                      "(each counts as one packet for loss and queueing)\n");
  }
  pktinfo_t pi;
  parse_pkt(payload ? payload : (const uint8_t *)"", plen, &pi);
  /* The path's clock starts when the packet reached the router (its receive timestamp),
   * not when we got round to reading it: our wakeup latency must not add to the delay. */
  uint64_t at = now;
  if (ts_real_ns) {
    uint64_t mono = (uint64_t)((int64_t)ts_real_ns - d->real_minus_mono_ns);
    if (mono <= now && now - mono < 1000000000ULL) { /* sane (no clock step) */
      at = mono;
      d->kernel_ts_used++;
    }
  }
  arrive(d, id, &pi, at);
}

/* Read whatever packets are queued (non-blocking). Returns the number read. */
static int drain_nl(dir_t *d, int max_msgs) {
  static __thread char bufs[RECV_BATCH][RECV_BUF] __attribute__((aligned(8)));
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  int total = 0;
  while (total < max_msgs) {
    for (int i = 0; i < RECV_BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = RECV_BUF;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(d->nl_fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    d->recv_calls++;
    if (n < 0) {
      if (errno == ENOBUFS) { d->enobufs++; continue; }
      if (errno == EINTR) continue;
      break; /* EAGAIN */
    }
    if (n == 0) break;
    uint64_t now = mono_ns();
    d->real_minus_mono_ns = (int64_t)real_ns() - (int64_t)now;
    for (int i = 0; i < n; i++) {
      /* signed: the last message's nlmsg_len need not be 4-aligned, so NLMSG_NEXT can take
       * len below zero; unsigned it would wrap and walk past the buffer */
      int len = (int)msgs[i].msg_len;
      for (struct nlmsghdr *h = (struct nlmsghdr *)bufs[i]; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) handle_nl_msg(d, h, now);
    }
    d->recv_msgs += (uint64_t)n;
    total += n;
    if (n < RECV_BATCH) break;
  }
  return total;
}

/* ---------- control channel ---------- */

static atomic_int want_exit;

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

static int parse_prob(const char *s, double *out, char **end) {
  errno = 0;
  double v = strtod(s, end);
  if (errno || *end == s || !(v >= 0 && v <= 1)) return -1;
  *out = v;
  return 0;
}

static dir_t *dir_by_name(const char *s) {
  if (!strcmp(s, "up")) return &dirs[0];
  if (!strcmp(s, "down")) return &dirs[1];
  return NULL;
}

/* Decode %XX escapes (the controller percent-encodes trace paths: no spaces on the line). */
static int pct_decode(const char *in, char *out, size_t outlen) {
  size_t o = 0;
  for (size_t i = 0; in[i]; i++) {
    if (o + 1 >= outlen) return -1;
    if (in[i] == '%') {
      char hex[3] = {in[i + 1], in[i + 1] ? in[i + 2] : 0, 0};
      if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1])) return -1;
      out[o++] = (char)strtoul(hex, NULL, 16);
      i += 2;
    } else out[o++] = in[i];
  }
  out[o] = 0;
  return o ? 0 : -1;
}

/* Load a Mahimahi trace: one delivery opportunity per line, a whole number of ms,
 * non-decreasing, last > 0 (the period). Errors name the file and the line. */
static int trace_load(const char *path, cfg_t *c, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) { snprintf(err, errlen, "trace %s: %s", path, strerror(errno)); return -1; }
  uint32_t cap = 4096, n = 0;
  uint32_t *t = malloc(cap * sizeof *t);
  char line[64];
  uint64_t lineno = 0;
  int bad = 0;
  if (!t) die("out of memory");
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    if (len == sizeof line - 1 && line[len - 1] != '\n') { snprintf(err, errlen, "trace %s line %llu: line too long", path, (unsigned long long)lineno); bad = 1; break; }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(line, &end, 10);
    if (!len || line[0] < '0' || line[0] > '9' || *end || errno || v > TRACE_MAX_MS) {
      snprintf(err, errlen, "trace %s line %llu: expected a whole number of milliseconds, got '%.20s'", path, (unsigned long long)lineno, line);
      bad = 1;
      break;
    }
    if (n && v < t[n - 1]) {
      snprintf(err, errlen, "trace %s line %llu: %llu ms is earlier than the line before (%u ms); timestamps must not decrease", path, (unsigned long long)lineno, v, t[n - 1]);
      bad = 1;
      break;
    }
    if (n == TRACE_MAX_LINES) { snprintf(err, errlen, "trace %s line %llu: more than %u lines", path, (unsigned long long)lineno, TRACE_MAX_LINES); bad = 1; break; }
    if (n == cap) {
      cap *= 2;
      uint32_t *nt = realloc(t, cap * sizeof *t);
      if (!nt) die("out of memory");
      t = nt;
    }
    t[n++] = (uint32_t)v;
  }
  fclose(f);
  if (!bad && (!n || t[n - 1] == 0)) {
    snprintf(err, errlen, "trace %s line %llu: the last timestamp must be > 0 ms (it is the period the trace loops with)", path, (unsigned long long)(lineno ? lineno : 1));
    bad = 1;
  }
  if (bad) { free(t); return -1; }
  c->trace_ms = t;
  c->trace_n = n;
  c->trace_period_ms = t[n - 1];
  snprintf(c->trace_path, sizeof c->trace_path, "%s", path);
  return 0;
}

/* Apply "key=value" settings to a copy first, so a bad command changes nothing. */
static int cmd_set(dir_t *d, char **kv, int n, char *err, size_t errlen) {
  cfg_t c = d->c; /* parse into a copy, so a bad command changes nothing */
  int reseed = 0, reset_ge = 0;
  uint64_t seed = d->seed;
  for (int i = 0; i < n; i++) {
    char *eq = strchr(kv[i], '=');
    if (!eq) { snprintf(err, errlen, "expected key=value, got '%s'", kv[i]); return -1; }
    *eq = 0;
    const char *k = kv[i], *v = eq + 1;
    uint64_t u;
    if (!strcmp(k, "delay_us")) {
      if (parse_u64(v, &u) || u > 600000000ULL) goto bad;
      c.delay_ns = u * 1000;
    } else if (!strcmp(k, "jitter_us")) {
      if (parse_u64(v, &u) || u > 600000000ULL) goto bad;
      c.jitter_ns = u * 1000;
    } else if (!strcmp(k, "dist")) {
      if (!strcmp(v, "uniform")) c.dist_normal = 0;
      else if (!strcmp(v, "normal")) c.dist_normal = 1;
      else goto bad;
    } else if (!strcmp(k, "loss")) {
      char *end;
      if (!strcmp(v, "none")) c.loss_kind = LOSS_NONE;
      else if (!strncmp(v, "random:", 7)) {
        double pct;
        errno = 0;
        pct = strtod(v + 7, &end);
        if (errno || end == v + 7 || *end || !(pct >= 0 && pct <= 100)) goto bad;
        c.loss_kind = LOSS_RANDOM;
        c.loss_p = pct / 100.0;
      } else if (!strncmp(v, "burst:", 6)) {
        /* burst:MEAN_GOOD_US:MEAN_BAD_US:LOSS_IN_BAD_PCT:LOSS_IN_GOOD_PCT */
        unsigned long long gu, bu;
        double pb, pg;
        char tail;
        if (sscanf(v + 6, "%llu:%llu:%lf:%lf%c", &gu, &bu, &pb, &pg, &tail) != 4) goto bad;
        if (gu < 1 || bu < 1 || gu > 3600000000ULL || bu > 3600000000ULL || !(pb >= 0 && pb <= 100) || !(pg >= 0 && pg <= 100)) goto bad;
        c.loss_kind = LOSS_BURST;
        c.burst_good_ns = (double)gu * 1000.0;
        c.burst_bad_ns = (double)bu * 1000.0;
        c.burst_p_bad = pb / 100.0;
        c.burst_p_good = pg / 100.0;
      } else if (!strncmp(v, "ge:", 3)) {
        const char *p = v + 3;
        double g[4];
        for (int j = 0; j < 4; j++) {
          if (parse_prob(p, &g[j], &end)) goto bad;
          if (j < 3 && *end != ':') goto bad;
          if (j == 3 && *end) goto bad;
          p = end + 1;
        }
        if (c.loss_kind != LOSS_GE) reset_ge = 1;
        c.loss_kind = LOSS_GE;
        c.ge_p = g[0]; c.ge_r = g[1]; c.ge_1h = g[2]; c.ge_1k = g[3];
      } else goto bad;
    } else if (!strcmp(k, "rate_bps")) {
      if (parse_u64(v, &u) || u > 1000000000000ULL) goto bad;
      c.rate_bps = (double)u;
    } else if (!strcmp(k, "limit")) {
      if (parse_u64(v, &u) || u < 1 || u > 1000000) goto bad;
      c.limit = (uint32_t)u;
    } else if (!strcmp(k, "overhead")) {
      if (parse_u64(v, &u) || u > 1000) goto bad;
      c.overhead = (uint32_t)u;
    } else if (!strcmp(k, "reorder")) {
      if (strcmp(v, "0") && strcmp(v, "1")) goto bad;
      c.reorder = v[0] == '1';
    } else if (!strcmp(k, "limit_bytes")) {
      if (parse_u64(v, &u) || u > 10000000000ULL) goto bad;
      c.limit_bytes = u;
    } else if (!strcmp(k, "limit_us")) {
      if (parse_u64(v, &u) || u > 600000000ULL) goto bad;
      c.limit_ns = u * 1000;
    } else if (!strcmp(k, "aqm")) {
      unsigned long long tu, iu;
      char tail;
      if (!strcmp(v, "none")) c.aqm_codel = 0;
      else if (sscanf(v, "codel:%llu:%llu%c", &tu, &iu, &tail) == 2 && tu >= 1 && iu >= 1 && tu <= 60000000ULL && iu <= 60000000ULL) {
        c.aqm_codel = 1;
        c.codel_target_ns = tu * 1000;
        c.codel_interval_ns = iu * 1000;
      } else goto bad;
    } else if (!strcmp(k, "reorder_pct")) {
      char *end;
      errno = 0;
      double pct = strtod(v, &end);
      if (errno || end == v || *end || !(pct >= 0 && pct <= 100)) goto bad;
      c.reorder_p = pct / 100.0;
    } else if (!strcmp(k, "reorder_gap")) {
      if (parse_u64(v, &u) || u < 1 || u > 1000000) goto bad;
      c.reorder_gap = (uint32_t)u;
    } else if (!strcmp(k, "trace")) {
      if (!strcmp(v, "none")) {
        c.trace_ms = NULL;
        c.trace_n = 0;
        c.trace_path[0] = 0;
      } else {
        char path[512];
        if (pct_decode(v, path, sizeof path)) goto bad;
        if (!d->c.trace_ms || strcmp(path, d->c.trace_path) || c.trace_ms != d->c.trace_ms) {
          if (c.trace_ms && c.trace_ms != d->c.trace_ms) free(c.trace_ms); /* named twice in one command */
          if (trace_load(path, &c, err, errlen)) {
            c.trace_ms = NULL;
            goto fail;
          }
        }
      }
    } else if (!strcmp(k, "seed")) {
      if (parse_u64(v, &u)) goto bad;
      seed = u;
      reseed = 1;
    } else {
      snprintf(err, errlen, "unknown key '%s'", k);
      return -1;
    }
    continue;
  bad:
    snprintf(err, errlen, "bad value for %s: '%s'", k, v);
  fail:
    if (c.trace_ms && c.trace_ms != d->c.trace_ms) free(c.trace_ms);
    return -1;
  }
  cfg_t old = d->c;
  d->c = c;
  uint64_t now = mono_ns();
  if (old.trace_ms != c.trace_ms) {
    free(old.trace_ms);
    if (c.trace_ms) trace_restart(d, now);
  }
  if (c.loss_kind == LOSS_BURST && (old.loss_kind != LOSS_BURST || old.burst_good_ns != c.burst_good_ns || old.burst_bad_ns != c.burst_bad_ns))
    burst_restart(d, now);
  if (c.aqm_codel && (!old.aqm_codel || old.codel_target_ns != c.codel_target_ns || old.codel_interval_ns != c.codel_interval_ns)) {
    d->cd_first_above = d->cd_drop_next = 0;
    d->cd_count = d->cd_lastcount = 0;
    d->cd_dropping = 0;
  }
  if (reset_ge) d->ge_bad = 0;
  if (reseed) dir_seed(d, seed, d->idx);
  return 0;
}

static void fmt_dir(char *buf, size_t len, const dir_t *d) {
  snprintf(buf, len,
           "{\"packets\":%llu,\"delivered\":%llu,\"drops\":{\"loss\":%llu,\"queue\":%llu,\"outage\":%llu,\"aqm\":%llu,\"other\":%llu},"
           "\"held\":%zu,\"queue_peak\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
           "\"lateness_us\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu,\"n\":%llu},\"blackhole\":%d,"
           "\"seed\":%llu,\"since_seed\":%llu}",
           (unsigned long long)d->packets, (unsigned long long)d->delivered, (unsigned long long)d->drops[CAUSE_LOSS],
           (unsigned long long)d->drops[CAUSE_QUEUE], (unsigned long long)d->drops[CAUSE_OUTAGE],
           (unsigned long long)d->drops[CAUSE_AQM], (unsigned long long)d->drops_other, d->hlen, (unsigned long long)d->queue_peak, (unsigned long long)d->bytes_in,
           (unsigned long long)d->bytes_out, (unsigned long long)lat_pct(d, 0.5), (unsigned long long)lat_pct(d, 0.99),
           (unsigned long long)d->lat_max_us, (unsigned long long)d->lat_n, d->blackhole,
           (unsigned long long)d->seed, (unsigned long long)d->since_seed);
}

static void handle_cmd(char *line) {
  char *tok[32];
  int n = 0;
  for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && n < 32; t = strtok_r(NULL, " \t\r", &save)) tok[n++] = t;
  if (n == 0) return;
  char reply[4096], err[1024] = "";
  const char *id = tok[0];
  if (n < 2) {
    snprintf(reply, sizeof reply, "%s err missing command\n", id);
    out_line(reply);
    return;
  }
  const char *cmd = tok[1];
  int ok = 0;
  if (!strcmp(cmd, "set")) {
    dir_t *d = n >= 3 ? dir_by_name(tok[2]) : NULL;
    if (!d) snprintf(err, sizeof err, "set: expected direction up|down");
    else {
      pthread_mutex_lock(&d->mu);
      ok = cmd_set(d, tok + 3, n - 3, err, sizeof err) == 0;
      pthread_mutex_unlock(&d->mu);
    }
  } else if (!strcmp(cmd, "reseed")) {
    uint64_t seed;
    if (n != 3 || parse_u64(tok[2], &seed)) snprintf(err, sizeof err, "reseed: expected one seed (unsigned integer)");
    else {
      /* both directions under both locks (always taken in index order), so no packet in
       * either direction sees a half-done reseed */
      pthread_mutex_lock(&dirs[0].mu);
      pthread_mutex_lock(&dirs[1].mu);
      for (int i = 0; i < 2; i++) dir_seed(&dirs[i], seed, i);
      pthread_mutex_unlock(&dirs[1].mu);
      pthread_mutex_unlock(&dirs[0].mu);
      ok = 1;
    }
  } else if (!strcmp(cmd, "blackhole")) {
    int on = n >= 4 && !strcmp(tok[3], "1");
    int valid = n >= 4 && (!strcmp(tok[3], "0") || on);
    if (!valid) snprintf(err, sizeof err, "blackhole: expected <up|down|both> <0|1>");
    else {
      int both = !strcmp(tok[2], "both");
      dir_t *d = both ? NULL : dir_by_name(tok[2]);
      if (!both && !d) snprintf(err, sizeof err, "blackhole: expected direction up|down|both");
      for (int i = 0; i < 2; i++) {
        if (!both && d != &dirs[i]) continue;
        pthread_mutex_lock(&dirs[i].mu);
        dirs[i].blackhole = on;
        pthread_mutex_unlock(&dirs[i].mu);
        ok = 1;
      }
    }
  } else if (!strcmp(cmd, "stats")) {
    char up[1024], down[1024];
    uint64_t enobufs = 0, nl_errors = 0, send_errors = 0, recv_calls = 0, recv_msgs = 0, kernel_ts_used = 0, gso_packets = 0;
    for (int i = 0; i < 2; i++) {
      dir_t *d = &dirs[i];
      pthread_mutex_lock(&d->mu);
      fmt_dir(i ? down : up, sizeof up, d);
      enobufs += d->enobufs; nl_errors += d->nl_errors; send_errors += d->send_errors;
      recv_calls += d->recv_calls; recv_msgs += d->recv_msgs;
      kernel_ts_used += d->kernel_ts_used; gso_packets += d->gso_packets;
      pthread_mutex_unlock(&d->mu);
    }
    snprintf(reply, sizeof reply,
             "%s ok {\"uplink\":%s,\"downlink\":%s,\"enobufs\":%llu,\"netlink_errors\":%llu,\"send_errors\":%llu,"
             "\"recv_calls\":%llu,\"recv_msgs\":%llu,\"kernel_ts\":%llu,\"gso_packets\":%llu}\n",
             id, up, down, (unsigned long long)enobufs, (unsigned long long)nl_errors,
             (unsigned long long)send_errors, (unsigned long long)recv_calls, (unsigned long long)recv_msgs,
             (unsigned long long)kernel_ts_used, (unsigned long long)gso_packets);
    out_line(reply);
    return;
  } else if (!strcmp(cmd, "qdelay")) {
    /* queue delay (enqueue -> dequeue) per direction since the last qdelay; restarts the window */
    char one[2][256];
    for (int i = 0; i < 2; i++) {
      dir_t *d = &dirs[i];
      pthread_mutex_lock(&d->mu);
      snprintf(one[i], sizeof one[i], "{\"n\":%llu,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}",
               (unsigned long long)d->qd_n, d->qd_n ? d->qd_sum_ns / (double)d->qd_n / 1e6 : 0.0, qd_pct_ms(d, 0.5),
               qd_pct_ms(d, 0.99), (double)d->qd_max_ns / 1e6);
      memset(d->qd_hist, 0, sizeof d->qd_hist);
      d->qd_n = d->qd_max_ns = 0;
      d->qd_sum_ns = 0;
      pthread_mutex_unlock(&d->mu);
    }
    snprintf(reply, sizeof reply, "%s ok {\"uplink\":%s,\"downlink\":%s}\n", id, one[0], one[1]);
    out_line(reply);
    return;
  } else if (!strcmp(cmd, "flush")) {
    if (droplog) fflush(droplog);
    ok = 1;
  } else if (!strcmp(cmd, "quit")) {
    atomic_store(&want_exit, 1);
    ok = 1;
  } else {
    snprintf(err, sizeof err, "unknown command '%s'", cmd);
  }
  if (ok) snprintf(reply, sizeof reply, "%s ok\n", id);
  else snprintf(reply, sizeof reply, "%s err %s\n", id, err);
  out_line(reply);
}

static char inbuf[65536];
static size_t inlen;

/* Returns 0 on EOF. */
static int read_stdin(void) {
  ssize_t n = read(0, inbuf + inlen, sizeof inbuf - 1 - inlen);
  if (n == 0) return 0;
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
  inlen += (size_t)n;
  char *start = inbuf, *nl;
  while ((nl = memchr(start, '\n', inlen - (size_t)(start - inbuf)))) {
    *nl = 0;
    handle_cmd(start);
    start = nl + 1;
  }
  inlen -= (size_t)(start - inbuf);
  memmove(inbuf, start, inlen);
  if (inlen == sizeof inbuf - 1) inlen = 0; /* absurdly long line: discard */
  return 1;
}

/* ---------- per-direction worker ---------- */

static void open_queue(dir_t *d) {
  d->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (d->nl_fd < 0) die("netlink socket: %s", strerror(errno));
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(d->nl_fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("netlink bind: %s", strerror(errno));
  int rcvbuf = 32 << 20;
  if (setsockopt(d->nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(d->nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  /* config ACKs are read with blocking recv(); never wait forever for one */
  struct timeval rcvto = {1, 0};
  setsockopt(d->nl_fd, SOL_SOCKET, SO_RCVTIMEO, &rcvto, sizeof rcvto);
  int sndbuf = 4 << 20;
  if (setsockopt(d->nl_fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(d->nl_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  uint16_t q = d->qnum;
  struct nfqnl_msg_config_cmd cmd = {NFQNL_CFG_CMD_BIND, 0, htons(AF_INET)};
  int e = nl_config(d, NFQA_CFG_CMD, &cmd, sizeof cmd);
  if (e) die("binding NFQUEUE %u failed: %s%s", q, strerror(-e),
             e == -EBUSY ? " (another program holds this queue number in this namespace)" : "");
  struct nfqnl_msg_config_params params;
  memset(&params, 0, sizeof params);
  params.copy_range = htonl(COPY_BYTES);
  params.copy_mode = NFQNL_COPY_PACKET;
  e = nl_config(d, NFQA_CFG_PARAMS, &params, sizeof params);
  if (e) die("NFQUEUE %u copy mode: %s", q, strerror(-e));
  uint32_t maxlen = htonl(QUEUE_MAXLEN);
  e = nl_config(d, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
  if (e) die("NFQUEUE %u maxlen: %s", q, strerror(-e));
  /* NFQA_CFG_F_GSO: we never look at or change checksums, so the kernel need not compute
   * a full checksum for every CHECKSUM_PARTIAL packet it queues (the receiver would then
   * verify it again): on a veth path that is ~8% of the per-packet cost. The price: GSO
   * super-packets would reach us unsegmented, so we count them (gso_packets) and warn;
   * the topology turns GSO/TSO/GRO off, so there should be none. */
  uint32_t flags[2] = {htonl(NFQA_CFG_F_GSO), htonl(NFQA_CFG_F_GSO)};
  e = nl_config2(d, NFQA_CFG_MASK, &flags[0], 4, NFQA_CFG_FLAGS, &flags[1], 4);
  if (e) fprintf(stderr, "impair: warning: NFQUEUE %u flags: %s (continuing without F_GSO)\n", q, strerror(-e));

  d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  d->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->tfd < 0 || d->evfd < 0) die("timerfd/eventfd: %s", strerror(errno));
}

static void close_queue(dir_t *d) {
  struct nfqnl_msg_config_cmd cmd = {NFQNL_CFG_CMD_UNBIND, 0, htons(AF_INET)};
  nl_config(d, NFQA_CFG_CMD, &cmd, sizeof cmd);
}

/* Arm the timer SPIN_NS before `next` (UINT64_MAX: disarm). Called with d->mu held. */
static void arm(dir_t *d, uint64_t next) {
  uint64_t at = next == UINT64_MAX ? 0 : next - SPIN_NS;
  if (at == d->armed_for) return;
  struct itimerspec its = {{0, 0}, {(time_t)(at / 1000000000ULL), (long)(at % 1000000000ULL)}};
  timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL); /* at == 0 disarms */
  d->armed_for = at;
}

static void *worker(void *arg) {
  dir_t *d = arg;
  while (!atomic_load(&want_exit)) {
    /* 1. release what is due, spinning for the next release if it is close. Bounded: at
     * most ~5 ms of back-to-back spinning before the loop comes round again. The mutex is
     * dropped between spins so the control thread is never kept waiting long. */
    pthread_mutex_lock(&d->mu);
    uint64_t now = mono_ns(), spin_start = now, next = UINT64_MAX;
    for (int guard = 0; guard < 1000000 && now - spin_start < 5000000ULL; guard++) {
      serve(d, now);
      release_due(d, now);
      next = d->hlen ? d->heap[0].rel_ns : UINT64_MAX;
      if (next == UINT64_MAX || next > now + SPIN_NS) break;
      nl_flush(d);
      pthread_mutex_unlock(&d->mu);
      pthread_mutex_lock(&d->mu);
      drain_nl(d, RECV_BATCH); /* keep reading arrivals while we wait */
      now = mono_ns();
    }
    nl_flush(d);
    /* the queue stage needs no spin (it works in model time): wake at its next event */
    uint64_t srv = next_service(d), at = next == UINT64_MAX ? UINT64_MAX : next - SPIN_NS;
    arm(d, srv < at ? srv + SPIN_NS : next);
    pthread_mutex_unlock(&d->mu);

    /* 2. wait for packets, the timer, or a wake-up from the control thread */
    struct pollfd pfd[3] = {{d->nl_fd, POLLIN, 0}, {d->tfd, POLLIN, 0}, {d->evfd, POLLIN, 0}};
    int pr = poll(pfd, 3, -1);
    if (pr < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    if (pr <= 0) continue;
    uint64_t v;
    if (pfd[2].revents & POLLIN && read(d->evfd, &v, sizeof v) < 0) { /* nothing */ }
    pthread_mutex_lock(&d->mu);
    if (pfd[0].revents & POLLIN) drain_nl(d, MAX_ARRIVALS_PER_ROUND);
    if (pfd[1].revents & POLLIN) {
      if (read(d->tfd, &v, sizeof v) < 0) { /* spurious */ }
      d->armed_for = 0;
    }
    pthread_mutex_unlock(&d->mu);
  }
  return NULL;
}

/* ---------- main ---------- */

static void usage(void) {
  fprintf(stderr, "usage: impair --queue-up N --queue-down M [--droplog PATH] [--nice N] [--check]\n");
  exit(2);
}

int main(int argc, char **argv) {
  long qup = -1, qdown = -1, nice_val = -15;
  const char *droplog_path = NULL;
  int check = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--queue-up") && i + 1 < argc) qup = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--queue-down") && i + 1 < argc) qdown = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--droplog") && i + 1 < argc) droplog_path = argv[++i];
    else if (!strcmp(argv[i], "--check")) check = 1;
    else if (!strcmp(argv[i], "--nice") && i + 1 < argc) nice_val = strtol(argv[++i], NULL, 10);
    else usage();
  }
  if (qup < 0 || qup > 65535 || qdown < 0 || qdown > 65535 || qup == qdown) usage();

  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* hrtimer wakeups without the default 50 us slack; inherited by threads */
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  /* A heavier fair-class weight (not SCHED_FIFO: see the header) so that on a busy machine
   * the workers are picked soon after a wakeup. Set before the threads start: they inherit it. */
  if (nice_val) {
    if (setpriority(PRIO_PROCESS, 0, (int)nice_val) < 0)
      fprintf(stderr, "impair: warning: setpriority(%ld): %s\n", nice_val, strerror(errno));
    /* With sched_autogroup (the default on desktop/VM kernels), nice only ranks tasks
     * within one session's group; groups compete with each other at equal weight. So
     * become our own session and give that group the same weight. */
    if (setsid() >= 0) {
      FILE *ag = fopen("/proc/self/autogroup", "w");
      if (ag) {
        fprintf(ag, "%ld", nice_val);
        fclose(ag); /* ENOENT without CONFIG_SCHED_AUTOGROUP: nothing to do */
      }
    }
  }

  dir_init(&dirs[0], "up", (uint16_t)qup, 0);
  dir_init(&dirs[1], "down", (uint16_t)qdown, 1);

  char droplog_proc[64] = "-";
  if (droplog_path) {
    droplog = fopen(droplog_path, "w+");
    if (!droplog) die("cannot open drop log %s: %s", droplog_path, strerror(errno));
    setvbuf(droplog, NULL, _IOFBF, 1 << 20);
    /* Unlinked at once, read through /proc/<pid>/fd/<n>: the file can never outlive us,
     * even after SIGKILL, and a dead helper's log is (rightly) unreadable. */
    unlink(droplog_path);
    snprintf(droplog_proc, sizeof droplog_proc, "/proc/%d/fd/%d", (int)getpid(), fileno(droplog));
  }

  /* Any socket asking for SO_TIMESTAMPNS turns on receive timestamps for every packet
   * (net_enable_timestamp), so NFQUEUE messages carry NFQA_TIMESTAMP. Kept open for life. */
  int ts_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (ts_fd < 0 || setsockopt(ts_fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0)
    fprintf(stderr, "impair: warning: cannot enable receive timestamps; delays start at read time\n");

  open_queue(&dirs[0]);
  open_queue(&dirs[1]);
  if (check) {
    close_queue(&dirs[0]);
    close_queue(&dirs[1]);
    out_line("READY check\n");
    return 0;
  }

  /* signals go to the signalfd only: block them before the workers start (they inherit the mask) */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd: %s", strerror(errno));

  for (int i = 0; i < 2; i++)
    if (pthread_create(&dirs[i].thread, NULL, worker, &dirs[i])) die("pthread_create failed");

  char ready[160];
  snprintf(ready, sizeof ready, "READY up=%ld down=%ld droplog=%s\n", qup, qdown, droplog_proc);
  out_line(ready);

  while (!atomic_load(&want_exit)) {
    struct pollfd pfd[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
    int pr = poll(pfd, 2, -1);
    if (pr < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    if (pr <= 0) continue;
    if (pfd[1].revents & POLLIN) atomic_store(&want_exit, 1);
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!read_stdin()) atomic_store(&want_exit, 1); /* EOF: the controller went away */
    }
  }

  /* Clean exit: stop the workers, let held packets go (they were in flight), unbind. */
  for (int i = 0; i < 2; i++) {
    uint64_t v = 1;
    if (write(dirs[i].evfd, &v, sizeof v) < 0) { /* the worker polls with no timeout otherwise */ }
  }
  for (int i = 0; i < 2; i++) pthread_join(dirs[i].thread, NULL);
  for (int i = 0; i < 2; i++) {
    dir_t *d = &dirs[i];
    while (d->hlen) {
      held_t h = heap_pop(d);
      nl_verdict(d, h.id, NF_ACCEPT, 0);
    }
    nl_flush(d);
    close_queue(d);
  }
  if (droplog) fclose(droplog);
  return 0;
}
