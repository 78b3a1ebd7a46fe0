/*
 * loadgen: the load generator of hubbub's benchmarks.
 *
 * One thread, one epoll loop, non-blocking sockets. It speaks just enough of
 * each protocol to drive a server hard without becoming the bottleneck:
 *
 *   --proto sio      Engine.IO v4 / Socket.IO v5 text packets over websocket
 *   --proto polling  Engine.IO v4 / Socket.IO v5 over HTTP long-polling
 *                    (two keep-alive connections per client, as browsers do)
 *   --proto raw      plain websocket text frames, for the no-Socket.IO ceiling
 *                    server: echo returns the frame as is, "J" joins the room
 *                    (answered "ok"), "F<k>" broadcasts <k> events to it
 *   --proto v09      Socket.IO 0.9 (protocol 1) over websocket: a handshake GET at
 *                    <path>1/, then the websocket at <path>1/websocket/<sid>
 *
 * Scenarios:
 *   echo    every client keeps one 'echo' emit with ack outstanding:
 *           acks/s and latency percentiles over the measuring window
 *   fanout  every client joins one room; client 0 triggers broadcasts of
 *           a 100-byte event in batches, with a bounded number of batches in
 *           flight so that servers are measured, not their buffers:
 *           deliveries/s counted at the clients
 *   chat    many senders: every client joins one room, and the clients take
 *           turns sending `42["chat","bench",<payload>]` (one event each, no
 *           burst from one handler); the server broadcasts each to the room
 *           as the event 'msg'. At most batch * window chats are undelivered:
 *           deliveries/s counted at the clients
 *           fanout and chat then stop sending and wait (at most --drain
 *           seconds) for what is still undelivered: deliveries_expected
 *           counts one delivery per event per ready client, delivered_pct
 *           how many of them arrived
 *   idle    open N connections (bounded concurrency), read the server's
 *           VmRSS before and after, then hold them and check heartbeats
 *   cycle   (sio, polling) N clients at a time run --cycles whole sessions:
 *           connect, one 'echo' emit with ack, disconnect (Socket.IO then
 *           Engine.IO, as socket.io-client does), then the next session;
 *           the soak command (benchmarks/soak) drives it
 *
 * --server-pid names the server's process: its CPU time is summed over it and
 * all its descendants (a supervisor and its workers, a cluster's primary and
 * its workers), and each process's CPU and sockets are listed apart.
 *
 * Everything a client sends is encoded (and masked) once at start-up; only
 * the polling requests, which carry the session id, are formatted per send.
 * The result is one JSON object on stdout; progress goes to stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum proto { P_SIO, P_POLLING, P_RAW, P_V09 };
enum scenario { S_ECHO, S_FANOUT, S_IDLE, S_CYCLE, S_CHAT };

/* client life cycle; the same for every protocol (raw skips the middle) */
enum cstate { C_NEW, C_OPENING, C_NSCONNECT, C_JOINING, C_READY, C_CLOSING, C_DEAD };

/* what a TCP connection is busy with */
enum kstate { K_CONNECTING, K_WS_HANDSHAKE, K_WS_OPEN, K_HTTP_IDLE, K_HTTP_WAIT, K_CLOSED };

#define RBUF_SIZE (4 * 1024 * 1024)
#define ACK_CYCLE 10 /* ack ids cycle 0..9, so their frames can be pre-encoded */
#define HIST_LINEAR 65536 /* microsecond buckets below 65.5 ms ... */
#define HIST_SHIFT 6 /* ... then 64 us buckets ... */
#define HIST_SIZE (HIST_LINEAR + (30000000 >> HIST_SHIFT)) /* ... up to 30 s */

struct buf {
    char *p;
    size_t len, cap;
};

struct client;

struct conn {
    int fd;
    uint8_t kstate;
    uint8_t is_post; /* polling: the POST side (else the GET side) */
    uint8_t want_out; /* EPOLLOUT is registered */
    struct client *cl;
    struct buf in, out;
};

struct client {
    int idx;
    uint8_t state;
    uint8_t ack_id; /* the id of the echo in flight */
    uint8_t echo_busy;
    uint8_t post_busy; /* polling: a POST is in flight */
    uint8_t close_sent; /* cycle, polling: the POST carrying the close is out */
    struct conn *ws; /* websocket (sio, raw) or the GET side (polling) */
    struct conn *post; /* polling only */
    char sid[64];
    struct buf postq; /* polling: packets waiting for the next POST, \x1e joined */
    uint64_t sent_ns; /* when the echo in flight was sent */
    uint64_t ready_ns;
    uint64_t last_ping_ns;
};

/* a packet encoded once: the websocket frame (masked) and the bare text */
struct pre {
    char *frame;
    size_t frame_len;
    char *text;
    size_t text_len;
};

static struct {
    const char *host;
    int port;
    const char *path;
    int proto;
    int scenario;
    int clients;
    int concurrency;
    double warmup, duration, setup_timeout, settle;
    int payload_size;
    int batch, window;
    int server_pid;
    double drain;
    double ping_interval;
    double ping_slack;
    int source_ips;
    int quiet;
    long cycles;
} opt = {
    .host = "127.0.0.1",
    .port = 8000,
    .path = "/socket.io/",
    .proto = P_SIO,
    .scenario = S_ECHO,
    .clients = 100,
    .concurrency = 200,
    .warmup = 2,
    .duration = 5,
    .setup_timeout = 180,
    .settle = 1,
    .payload_size = 100,
    .batch = 10,
    .window = 4,
    .server_pid = 0,
    .drain = 5,
    .ping_interval = 25,
    .ping_slack = 0.5,
    .source_ips = 1,
};

static int ep;
static char *rbuf;
static struct sockaddr_in addr;
static struct client *clients;
static uint32_t *hist;

static struct pre pre_echo[ACK_CYCLE], pre_ack[ACK_CYCLE];
static struct pre pre_nsconnect, pre_pong, pre_join, pre_trigger, pre_leave, pre_leave_close,
    pre_chat;
/* a masked close frame, status 1000 */
static const char WS_CLOSE[8] = {(char)0x88, (char)0x82, 0x37, (char)0xfa,
                                 0x21,        0x3d,        0x03 ^ 0x37, (char)(0xe8 ^ 0xfa)};
static const char *delivery_prefix = "42[\"msg\"";
static size_t delivery_prefix_len;

/* counters: totals, and snapshots at the edges of the measuring window */
static struct {
    uint64_t acks, bad_payloads, deliveries, pings, pings_late, gaps, errors, proto_errors;
    uint64_t disconnects, connect_failures, started, ready, inflight, triggers;
    uint64_t expected; /* fanout, chat: deliveries owed for the triggers sent */
    uint64_t hist_n, lat_max_us, fd_limit_hit;
    uint64_t max_gap_ns;
    uint64_t cycles, last_cycle_ns;
} st;

static int phase; /* 0 setup, 1 warmup, 2 measuring, 3 done, 4 draining */
static int next_sender; /* chat: the client whose turn it is to send */
static uint64_t t_start, t_setup_done, t_measure0, t_measure1, t_drained;
static uint64_t snap_acks0, snap_deliv0, snap_acks1, snap_deliv1;
static long rss_before_kb = -1, rss_after_kb = -1;
static int next_to_start;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void logf_(const char *fmt, ...) {
    if (opt.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void die(const char *msg) {
    perror(msg);
    exit(2);
}

static void buf_append(struct buf *b, const char *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) die("realloc");
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_consume(struct buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* A fixed, non-zero mask key: servers must unmask as they would for a browser,
 * and the frames can still be encoded once. */
static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

static void make_pre(struct pre *pr, const char *text, size_t n) {
    pr->text = malloc(n + 1);
    memcpy(pr->text, text, n);
    pr->text[n] = 0;
    pr->text_len = n;
    size_t hl = n < 126 ? 2 : (n < 65536 ? 4 : 10);
    pr->frame = malloc(hl + 4 + n);
    uint8_t *f = (uint8_t *)pr->frame;
    f[0] = 0x81; /* FIN, text */
    if (n < 126) {
        f[1] = 0x80 | (uint8_t)n;
    } else if (n < 65536) {
        f[1] = 0x80 | 126;
        f[2] = (uint8_t)(n >> 8);
        f[3] = (uint8_t)n;
    } else {
        f[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) f[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    memcpy(f + hl, MASK, 4);
    for (size_t i = 0; i < n; i++) f[hl + 4 + i] = (uint8_t)text[i] ^ MASK[i & 3];
    pr->frame_len = hl + 4 + n;
}

static void make_pref(struct pre *pr, const char *fmt, ...) {
    char tmp[70000];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    make_pre(pr, tmp, (size_t)n);
}

static void build_messages(void) {
    char *payload = malloc((size_t)opt.payload_size + 1);
    for (int i = 0; i < opt.payload_size; i++) payload[i] = (char)('a' + i % 26);
    payload[opt.payload_size] = 0;
    for (int id = 0; id < ACK_CYCLE; id++) {
        if (opt.proto == P_V09) {
            /* an event whose ack the application answers ("+"), and that answer */
            make_pref(&pre_echo[id], "5:%d+::{\"name\":\"echo\",\"args\":[\"%s\"]}", id,
                      payload);
            make_pref(&pre_ack[id], "6:::%d+[\"%s\"]", id, payload);
            continue;
        }
        make_pref(&pre_echo[id], "42%d[\"echo\",\"%s\"]", id, payload);
        if (opt.proto == P_RAW)
            make_pre(&pre_ack[id], pre_echo[id].text, pre_echo[id].text_len);
        else
            make_pref(&pre_ack[id], "43%d[\"%s\"]", id, payload);
    }
    make_pref(&pre_nsconnect, "40");
    make_pref(&pre_leave, "41");
    make_pref(&pre_leave_close, "41\x1e" "1");
    make_pref(&pre_pong, opt.proto == P_V09 ? "2::" : "3");
    if (opt.proto == P_V09) {
        make_pref(&pre_join, "5:1+::{\"name\":\"join\",\"args\":[\"bench\"]}");
        make_pref(&pre_trigger, "5:::{\"name\":\"fanout\",\"args\":[\"bench\",%d]}",
                  opt.batch);
        make_pref(&pre_chat, "5:::{\"name\":\"chat\",\"args\":[\"bench\",\"%s\"]}", payload);
        delivery_prefix = "5:::{\"name\":\"msg\"";
    } else if (opt.proto == P_RAW) {
        make_pref(&pre_join, "J");
        make_pref(&pre_trigger, "F%d", opt.batch);
        make_pref(&pre_chat, "C%s", payload);
    } else {
        make_pref(&pre_join, "420[\"join\",\"bench\"]");
        make_pref(&pre_trigger, "42[\"fanout\",\"bench\",%d]", opt.batch);
        make_pref(&pre_chat, "42[\"chat\",\"bench\",\"%s\"]", payload);
    }
    delivery_prefix_len = strlen(delivery_prefix);
    free(payload);
}

/* ---- connections ------------------------------------------------------- */

static void set_interest(struct conn *c, int want_out) {
    if (c->want_out == want_out) return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
    c->want_out = (uint8_t)want_out;
}

static void client_dead(struct client *cl, int counted_as);

static void conn_close(struct conn *c) {
    if (c->fd >= 0) {
        /* a reset, not a FIN: no TIME_WAIT left behind on a shared machine */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c->fd);
        c->fd = -1;
    }
    c->kstate = K_CLOSED;
}

static int conn_flush(struct conn *c) {
    while (c->out.len) {
        ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            return -1;
        }
        buf_consume(&c->out, (size_t)n);
    }
    set_interest(c, c->out.len > 0);
    return 0;
}

static void conn_send(struct conn *c, const char *p, size_t n) {
    if (c->kstate == K_CLOSED) return;
    if (c->out.len == 0 && c->kstate != K_CONNECTING) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w == (ssize_t)n) return;
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                client_dead(c->cl, 1);
                return;
            }
            w = 0;
        }
        p += w;
        n -= (size_t)w;
    }
    buf_append(&c->out, p, n);
    if (c->kstate != K_CONNECTING) set_interest(c, 1);
}

static struct conn *conn_open(struct client *cl, int is_post) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) st.fd_limit_hit = 1;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.source_ips > 1) {
        /* Spread clients over several loopback source addresses. connect()
           picks an ephemeral port that is free for the 4-tuple, and past ~14k
           connections to one address:port that search turns linear (the
           kernel tries even ports first), so connects/s would measure the
           kernel, not the server. IP_BIND_ADDRESS_NO_PORT defers the port
           choice to connect(), per source address. */
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(cl->idx % opt.source_ips));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            close(fd);
            return NULL;
        }
    }
    struct conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->cl = cl;
    c->is_post = (uint8_t)is_post;
    c->kstate = K_CONNECTING;
    c->want_out = 1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        close(fd);
        free(c);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    return c;
}

static void client_dead(struct client *cl, int counted_as) {
    if (cl->state == C_DEAD) return;
    int was_ready = cl->state == C_READY || cl->state == C_CLOSING;
    cl->state = C_DEAD;
    if (cl->ws) conn_close(cl->ws);
    if (cl->post) conn_close(cl->post);
    if (phase == 3) return; /* closing at the end is not a failure */
    if (was_ready) {
        st.disconnects++;
        if (st.ready) st.ready--;
    } else {
        st.connect_failures++;
        if (st.inflight) st.inflight--;
    }
    if (counted_as) st.errors++;
}

/* ---- sending packets --------------------------------------------------- */

static void polling_post_flush(struct client *cl);

static void send_pre(struct client *cl, const struct pre *pr) {
    if (opt.proto == P_POLLING) {
        if (cl->postq.len) buf_append(&cl->postq, "\x1e", 1);
        buf_append(&cl->postq, pr->text, pr->text_len);
        polling_post_flush(cl);
    } else {
        conn_send(cl->ws, pr->frame, pr->frame_len);
    }
}

static void send_echo(struct client *cl) {
    cl->ack_id = (uint8_t)((cl->ack_id + 1) % ACK_CYCLE);
    cl->echo_busy = 1;
    cl->sent_ns = now_ns();
    send_pre(cl, &pre_echo[cl->ack_id]);
}

static void polling_request(struct conn *c, const char *method, const char *body, size_t blen) {
    char head[512];
    struct client *cl = c->cl;
    int n;
    if (body)
        n = snprintf(head, sizeof head,
                     "%s %s?EIO=4&transport=polling%s%s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n\r\n",
                     method, opt.path, cl->sid[0] ? "&sid=" : "", cl->sid, opt.host, opt.port, blen);
    else
        n = snprintf(head, sizeof head,
                     "%s %s?EIO=4&transport=polling%s%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", method,
                     opt.path, cl->sid[0] ? "&sid=" : "", cl->sid, opt.host, opt.port);
    c->kstate = K_HTTP_WAIT;
    if (body) {
        /* one write for head and body: one segment on the wire */
        char *all = malloc((size_t)n + blen);
        memcpy(all, head, (size_t)n);
        memcpy(all + n, body, blen);
        conn_send(c, all, (size_t)n + blen);
        free(all);
    } else {
        conn_send(c, head, (size_t)n);
    }
}

static void polling_post_flush(struct client *cl) {
    struct conn *c = cl->post;
    if (!c || cl->post_busy || !cl->postq.len || !cl->sid[0]) return;
    if (c->kstate != K_HTTP_IDLE) return;
    cl->post_busy = 1;
    if (cl->state == C_CLOSING) cl->close_sent = 1;
    polling_request(c, "POST", cl->postq.p, cl->postq.len);
    cl->postq.len = 0;
}

/* ---- scenario logic ---------------------------------------------------- */

static void on_ready(struct client *cl) {
    cl->state = C_READY;
    cl->ready_ns = now_ns();
    cl->last_ping_ns = cl->ready_ns;
    st.ready++;
    if (st.inflight) st.inflight--;
}

static void record_latency(uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us > st.lat_max_us) st.lat_max_us = us;
    size_t b = us < HIST_LINEAR ? us : HIST_LINEAR + ((us - HIST_LINEAR) >> HIST_SHIFT);
    if (b >= HIST_SIZE) b = HIST_SIZE - 1;
    hist[b]++;
    st.hist_n++;
}

static double hist_percentile(double q) {
    if (!st.hist_n) return -1;
    uint64_t want = (uint64_t)(q * (double)st.hist_n);
    if (want >= st.hist_n) want = st.hist_n - 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < HIST_SIZE; b++) {
        seen += hist[b];
        if (seen > want) {
            double us = b < HIST_LINEAR ? (double)b
                                        : (double)(HIST_LINEAR + ((b - HIST_LINEAR) << HIST_SHIFT));
            return us / 1000.0;
        }
    }
    return (double)st.lat_max_us / 1000.0;
}

static void on_ping(struct client *cl) {
    uint64_t t = now_ns();
    st.pings++;
    if (cl->state == C_READY) {
        uint64_t gap = t - cl->last_ping_ns;
        st.gaps++;
        if (gap > st.max_gap_ns) st.max_gap_ns = gap;
        if ((double)gap > (opt.ping_interval + opt.ping_slack) * 1e9) st.pings_late++;
        cl->last_ping_ns = t;
    }
    send_pre(cl, &pre_pong);
}

/* cycle: the session ended as it should; the main loop starts the next one */
static void cycle_done(struct client *cl) {
    cl->state = C_DEAD;
    if (cl->ws) conn_close(cl->ws);
    if (cl->post) conn_close(cl->post);
    if (st.ready) st.ready--;
    st.cycles++;
    st.last_cycle_ns = now_ns();
}

/* cycle: leave the namespace, then close the Engine.IO session; over polling
   both ride in one payload, and the session is over once that POST is answered */
static void start_close(struct client *cl) {
    cl->state = C_CLOSING;
    if (opt.proto == P_POLLING) {
        send_pre(cl, &pre_leave_close);
    } else {
        send_pre(cl, &pre_leave);
        conn_send(cl->ws, WS_CLOSE, sizeof WS_CLOSE);
    }
}

static void on_echo_reply(struct client *cl, const char *p, size_t n) {
    const struct pre *want = &pre_ack[cl->ack_id];
    if (!cl->echo_busy) {
        st.proto_errors++;
        return;
    }
    if (n != want->text_len || memcmp(p, want->text, n) != 0) st.bad_payloads++;
    cl->echo_busy = 0;
    st.acks++;
    if (opt.scenario == S_CYCLE) {
        start_close(cl);
        return;
    }
    if (phase == 2) record_latency(now_ns() - cl->sent_ns);
    if (phase == 1 || phase == 2) send_echo(cl);
}

static int is_delivery(const char *p, size_t n) {
    return n >= delivery_prefix_len && memcmp(p, delivery_prefix, delivery_prefix_len) == 0;
}

static void on_delivery(const char *p, size_t n) {
    if (is_delivery(p, n))
        st.deliveries++;
    else
        st.proto_errors++;
}

/* an ack: to the join while joining, else to the echo in flight */
static void on_answer(struct client *cl, const char *p, size_t n) {
    if (cl->state == C_JOINING)
        on_ready(cl);
    else
        on_echo_reply(cl, p, n);
}

static void after_connected(struct client *cl) {
    if (opt.scenario == S_FANOUT || opt.scenario == S_CHAT) {
        cl->state = C_JOINING;
        send_pre(cl, &pre_join);
    } else {
        on_ready(cl);
        if (opt.scenario == S_CYCLE) send_echo(cl);
    }
}

/* one Engine.IO packet (a websocket message, or one piece of a polling payload) */
static void on_eio_packet(struct client *cl, const char *p, size_t n) {
    if (n == 0) {
        st.proto_errors++;
        return;
    }
    switch (p[0]) {
    case '0': /* open */
        if (opt.proto == P_POLLING) {
            const char *s = memmem(p, n, "\"sid\":\"", 7);
            if (!s) {
                st.proto_errors++;
                client_dead(cl, 1);
                return;
            }
            s += 7;
            size_t i = 0;
            while (s + i < p + n && s[i] != '"' && i < sizeof cl->sid - 1) {
                cl->sid[i] = s[i];
                i++;
            }
            cl->sid[i] = 0;
        }
        cl->state = C_NSCONNECT;
        send_pre(cl, &pre_nsconnect);
        return;
    case '2':
        on_ping(cl);
        return;
    case '6': /* noop */
        return;
    case '1':
        if (cl->state != C_CLOSING) client_dead(cl, 1);
        return;
    case '4':
        break;
    default:
        st.proto_errors++;
        return;
    }
    if (n < 2) {
        st.proto_errors++;
        return;
    }
    switch (p[1]) {
    case '0':
        if (cl->state == C_NSCONNECT) after_connected(cl);
        return;
    case '2':
        on_delivery(p, n);
        return;
    case '3':
        on_answer(cl, p, n);
        return;
    case '1':
    case '4':
        client_dead(cl, 1);
        return;
    default:
        st.proto_errors++;
    }
}

/* one Socket.IO 0.9 packet: type ':' id ':' endpoint [':' data] */
static void on_v09_packet(struct client *cl, const char *p, size_t n) {
    if (n < 3 || p[1] != ':') {
        st.proto_errors++;
        return;
    }
    switch (p[0]) {
    case '1': /* the main namespace's connect echo */
        if (cl->state == C_OPENING) after_connected(cl);
        return;
    case '2':
        on_ping(cl);
        return;
    case '8':
        return;
    case '5':
        on_delivery(p, n);
        return;
    case '6':
        on_answer(cl, p, n);
        return;
    case '0':
    case '7':
        client_dead(cl, 1);
        return;
    default:
        st.proto_errors++;
    }
}

/* one websocket message, any protocol */
static void on_ws_message(struct client *cl, const char *p, size_t n) {
    if (opt.proto == P_V09) {
        on_v09_packet(cl, p, n);
        return;
    }
    if (opt.proto != P_RAW) {
        on_eio_packet(cl, p, n);
        return;
    }
    if (is_delivery(p, n)) {
        st.deliveries++;
    } else if (cl->state == C_JOINING) {
        on_ready(cl);
    } else if (opt.scenario == S_ECHO) {
        on_echo_reply(cl, p, n);
    } else {
        st.proto_errors++;
    }
}

/* parse websocket frames from the server; returns bytes consumed, -1 on error */
static ssize_t parse_ws(struct conn *c, char *data, size_t len) {
    size_t off = 0;
    while (len - off >= 2) {
        uint8_t *f = (uint8_t *)data + off;
        int opcode = f[0] & 0x0f;
        int fin = f[0] & 0x80;
        int masked = f[1] & 0x80;
        uint64_t plen = f[1] & 0x7f;
        size_t hl = 2;
        if (plen == 126) {
            if (len - off < 4) break;
            plen = ((uint64_t)f[2] << 8) | f[3];
            hl = 4;
        } else if (plen == 127) {
            if (len - off < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = (plen << 8) | f[2 + i];
            hl = 10;
        }
        if (masked) hl += 4;
        if (len - off < hl + plen) break;
        char *payload = (char *)f + hl;
        if (masked)
            for (uint64_t i = 0; i < plen; i++) payload[i] ^= (char)f[hl - 4 + (i & 3)];
        if (!fin) return -1; /* no server under test fragments messages this small */
        struct client *cl = c->cl;
        switch (opcode) {
        case 1:
        case 2:
            on_ws_message(cl, payload, (size_t)plen);
            break;
        case 8:
            if (cl->state != C_CLOSING) return -1;
            cycle_done(cl);
            return (ssize_t)len;
        case 9: { /* ping: answer with a pong carrying the same bytes */
            char pong[256];
            if (plen > 125) return -1;
            pong[0] = (char)0x8a;
            pong[1] = (char)(0x80 | plen);
            memcpy(pong + 2, MASK, 4);
            for (uint64_t i = 0; i < plen; i++) pong[6 + i] = payload[i] ^ (char)MASK[i & 3];
            conn_send(c, pong, 6 + plen);
            break;
        }
        case 10:
            break;
        default:
            return -1;
        }
        if (cl->state == C_DEAD) return (ssize_t)len;
        off += hl + plen;
    }
    return (ssize_t)off;
}

static const char *find_header(const char *head, size_t hlen, const char *name) {
    size_t nl = strlen(name);
    const char *p = head, *end = head + hlen;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ') p++;
            return p;
        }
        p = eol + 2;
    }
    return NULL;
}

/* decode a chunked body in place; returns body length, -2 if incomplete */
static ssize_t dechunk(char *body, size_t avail, size_t *consumed) {
    size_t in = 0, out = 0;
    for (;;) {
        char *eol = memmem(body + in, avail - in, "\r\n", 2);
        if (!eol) return -2;
        size_t sz = strtoul(body + in, NULL, 16);
        size_t data = (size_t)(eol - body) + 2;
        if (sz == 0) {
            if (avail < data + 2) return -2;
            *consumed = data + 2;
            return (ssize_t)out;
        }
        if (avail < data + sz + 2) return -2;
        memmove(body + out, body + data, sz);
        out += sz;
        in = data + sz + 2;
    }
}

/* the body of an HTTP response whose head is hlen bytes: its length in *blen,
   head and body in *used; 1 when complete, 0 while not, -1 if not delimited */
static int http_body(char *data, size_t len, size_t hlen, size_t *blen, size_t *used) {
    const char *cl_h = find_header(data, hlen, "content-length");
    const char *te = find_header(data, hlen, "transfer-encoding");
    if (cl_h) {
        *blen = strtoul(cl_h, NULL, 10);
        if (len - hlen < *blen) return 0;
        *used = hlen + *blen;
    } else if (te && strncasecmp(te, "chunked", 7) == 0) { /* Node 0.9 answers chunked */
        size_t consumed;
        ssize_t r = dechunk(data + hlen, len - hlen, &consumed);
        if (r == -2) return 0;
        *blen = (size_t)r;
        *used = hlen + consumed;
    } else {
        return -1; /* a body delimited by close is not something Engine.IO servers send */
    }
    return 1;
}

static void polling_get(struct client *cl) {
    if (cl->state != C_DEAD && cl->state != C_CLOSING && phase != 3)
        polling_request(cl->ws, "GET", NULL, 0);
}

/* parse one HTTP response on a polling connection; -1 error, else consumed */
static ssize_t parse_http(struct conn *c, char *data, size_t len) {
    char *eoh = memmem(data, len, "\r\n\r\n", 4);
    if (!eoh) return 0;
    size_t hlen = (size_t)(eoh - data) + 4;
    if (len < 12 || memcmp(data, "HTTP/1.", 7) != 0) return -1;
    int status = atoi(data + 9);
    char *body = data + hlen;
    size_t blen, used;
    int complete = http_body(data, len, hlen, &blen, &used);
    if (complete <= 0) return complete;
    struct client *cl = c->cl;
    if (status != 200) {
        logf_("polling %s answered %d: %.*s", c->is_post ? "POST" : "GET", status,
              (int)(blen > 200 ? 200 : blen), body);
        return -1;
    }
    c->kstate = K_HTTP_IDLE;
    if (c->is_post) {
        cl->post_busy = 0;
        if (cl->state == C_CLOSING && cl->close_sent) {
            cycle_done(cl);
            return (ssize_t)len;
        }
        polling_post_flush(cl);
        return (ssize_t)used;
    }
    /* GET: a payload of packets separated by the record separator */
    size_t s = 0;
    for (size_t i = 0; i <= blen && cl->state != C_DEAD; i++) {
        if (i == blen || body[i] == '\x1e') {
            on_eio_packet(cl, body + s, i - s);
            s = i + 1;
        }
    }
    if (cl->state == C_DEAD) return (ssize_t)len;
    /* the handshake GET gave us a sid: the POST side can start, the GET goes on */
    polling_post_flush(cl);
    polling_get(cl);
    return (ssize_t)used;
}

static void start_protocol(struct conn *c) {
    struct client *cl = c->cl;
    if (opt.proto == P_POLLING) {
        c->kstate = K_HTTP_IDLE;
        if (!c->is_post) {
            cl->state = C_OPENING;
            polling_request(c, "GET", NULL, 0);
        } else {
            polling_post_flush(cl);
        }
        return;
    }
    char req[512];
    if (opt.proto == P_V09 && !cl->sid[0]) {
        /* the 0.9 handshake first, on the same keep-alive connection */
        int n = snprintf(req, sizeof req, "GET %s1/?t=0 HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
                         opt.path, opt.host, opt.port);
        c->kstate = K_HTTP_WAIT;
        cl->state = C_OPENING;
        conn_send(c, req, (size_t)n);
        return;
    }
    char target[256];
    if (opt.proto == P_V09)
        snprintf(target, sizeof target, "%s1/websocket/%s", opt.path, cl->sid);
    else
        snprintf(target, sizeof target, "%s%s", opt.path,
                 opt.proto == P_RAW ? "" : "?EIO=4&transport=websocket");
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     target, opt.host, opt.port);
    c->kstate = K_WS_HANDSHAKE;
    conn_send(c, req, (size_t)n);
}

/* the answer to the 0.9 handshake: "sid:heartbeat:close:transports" */
static ssize_t parse_v09_handshake(struct conn *c, char *data, size_t len) {
    char *eoh = memmem(data, len, "\r\n\r\n", 4);
    if (!eoh) return 0;
    size_t hlen = (size_t)(eoh - data) + 4;
    if (len < 12 || memcmp(data + 9, "200", 3) != 0) {
        logf_("0.9 handshake refused: %.*s", (int)(eoh - data), data);
        return -1;
    }
    size_t blen, used;
    int complete = http_body(data, len, hlen, &blen, &used);
    if (complete <= 0) return complete;
    struct client *cl = c->cl;
    size_t i = 0;
    while (i < blen && data[hlen + i] != ':' && i < sizeof cl->sid - 1) {
        cl->sid[i] = data[hlen + i];
        i++;
    }
    cl->sid[i] = 0;
    if (!i) return -1;
    start_protocol(c); /* now the websocket */
    return (ssize_t)used;
}

static ssize_t process_input(struct conn *c, char *data, size_t len) {
    struct client *cl = c->cl;
    size_t off = 0;
    if (c->kstate == K_WS_HANDSHAKE) {
        char *eoh = memmem(data, len, "\r\n\r\n", 4);
        if (!eoh) return 0;
        if (len < 12 || memcmp(data + 9, "101", 3) != 0) {
            logf_("websocket upgrade refused: %.*s", (int)(eoh - data), data);
            return -1;
        }
        off = (size_t)(eoh - data) + 4;
        c->kstate = K_WS_OPEN;
        if (opt.proto == P_V09) {
            /* stays C_OPENING until the server's "1::" */
        } else if (opt.proto == P_RAW) {
            after_connected(cl);
        } else {
            cl->state = C_OPENING;
        }
    }
    if (c->kstate == K_WS_OPEN) {
        ssize_t r = parse_ws(c, data + off, len - off);
        return r < 0 ? -1 : (ssize_t)off + r;
    }
    if (opt.proto == P_V09 && c->kstate == K_HTTP_WAIT) {
        ssize_t r = parse_v09_handshake(c, data, len);
        if (r <= 0) return r;
        off = (size_t)r;
        if (off < len && c->kstate == K_WS_HANDSHAKE) {
            ssize_t more = process_input(c, data + off, len - off);
            return more < 0 ? -1 : (ssize_t)off + more;
        }
        return (ssize_t)off;
    }
    /* polling: responses come one at a time (no pipelining) */
    while (off < len && c->kstate == K_HTTP_WAIT) {
        ssize_t r = parse_http(c, data + off, len - off);
        if (r <= 0) return r < 0 ? -1 : (ssize_t)off;
        off += (size_t)r;
        if (cl->state == C_DEAD) return (ssize_t)len;
    }
    return (ssize_t)off;
}

static void on_readable(struct conn *c) {
    for (;;) {
        size_t have = c->in.len;
        if (have) memcpy(rbuf, c->in.p, have);
        c->in.len = 0;
        ssize_t n = recv(c->fd, rbuf + have, RBUF_SIZE - have, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                buf_append(&c->in, rbuf, have);
                return;
            }
            if (c->cl->state == C_CLOSING && opt.proto != P_POLLING)
                cycle_done(c->cl); /* the server closed the connection after our close */
            else
                client_dead(c->cl, 1);
            return;
        }
        size_t total = have + (size_t)n;
        ssize_t used = process_input(c, rbuf, total);
        if (used < 0) {
            st.proto_errors++;
            client_dead(c->cl, 1);
            return;
        }
        if (c->kstate == K_CLOSED) return;
        if ((size_t)used < total) {
            if (total - (size_t)used >= RBUF_SIZE / 2) {
                client_dead(c->cl, 1); /* a message larger than we ever expect */
                return;
            }
            buf_append(&c->in, rbuf + used, total - (size_t)used);
        }
        if ((size_t)n < RBUF_SIZE - have) return; /* drained: do not pay for an EAGAIN */
    }
}

static void on_writable(struct conn *c) {
    if (c->kstate == K_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err) {
            client_dead(c->cl, 1);
            return;
        }
        c->kstate = K_HTTP_IDLE;
        if (conn_flush(c) < 0) {
            client_dead(c->cl, 1);
            return;
        }
        start_protocol(c);
        return;
    }
    if (conn_flush(c) < 0) client_dead(c->cl, 1);
}

static void conn_free(struct conn *c) {
    if (!c) return;
    conn_close(c);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

/* cycle: a fresh session on a client whose last one ended; called between
   event batches, so no event still points at the connections freed here */
static void restart_client(struct client *cl) {
    conn_free(cl->ws);
    conn_free(cl->post);
    cl->ws = cl->post = NULL;
    cl->sid[0] = 0;
    cl->postq.len = 0;
    cl->post_busy = cl->echo_busy = cl->close_sent = 0;
}

static void start_client(struct client *cl) {
    cl->state = C_NEW;
    st.started++;
    st.inflight++;
    cl->ws = conn_open(cl, 0);
    if (opt.proto == P_POLLING && cl->ws) cl->post = conn_open(cl, 1);
    if (!cl->ws || (opt.proto == P_POLLING && !cl->post)) client_dead(cl, 1);
}

/* CPU seconds used so far by this process, and by the server (from /proc):
   the report shows both over the measuring window, so a saturated generator
   would be visible, not just inferred */
static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The server's process tree: the process --server-pid names and every
   descendant, found by scanning /proc for parents (a supervisor's workers, a
   cluster's primary and workers). The root comes first. */
#define MAX_TREE 64
struct proc_sample {
    int pid;
    double cpu_s;
    long sockets;
};
/* before any client connects, and at both edges of the measuring window */
static struct proc_sample tree_base[MAX_TREE], tree0[MAX_TREE], tree1[MAX_TREE];
static int tree_base_n = -1, tree0_n = -1, tree1_n = -1;

/* pid's parent and its CPU seconds (utime + stime), from /proc/pid/stat */
static int proc_stat(int pid, int *ppid, double *cpu_s) {
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')'); /* the command name may contain spaces */
    if (!p) return -1;
    unsigned long ut = 0, stt = 0;
    /* after ')': state(3) ppid(4) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", ppid, &ut, &stt) != 3)
        return -1;
    *cpu_s = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

static long count_sockets(int pid) {
    char path[64], target[64], link[320];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 7 && memcmp(target, "socket:", 7) == 0) n++;
    }
    closedir(d);
    return n;
}

/* samples the tree of root into out; returns how many processes, -1 if root is gone */
static int sample_tree(int root, struct proc_sample *out, int with_sockets) {
    static int pids[32768], ppids[32768];
    static double cpus[32768];
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) && n < 32768) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        int pid = atoi(e->d_name);
        if (proc_stat(pid, &ppids[n], &cpus[n]) == 0) pids[n++] = pid;
    }
    closedir(d);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (pids[i] == root) {
            out[m++] = (struct proc_sample){root, cpus[i], 0};
            break;
        }
    if (m == 0) return -1;
    /* breadth first: the members found so far are the parents searched for */
    for (int k = 0; k < m; k++)
        for (int i = 0; i < n && m < MAX_TREE; i++)
            if (ppids[i] == out[k].pid) out[m++] = (struct proc_sample){pids[i], cpus[i], 0};
    if (with_sockets)
        for (int k = 0; k < m; k++) out[k].sockets = count_sockets(out[k].pid);
    return m;
}

static double tree_cpu_s(const struct proc_sample *t, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += t[i].cpu_s;
    return n > 0 ? sum : -1;
}

/* the machine's busy and total CPU time so far (every process, every core), in ticks */
static int machine_ticks(double *busy, double *total) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got < 5) return -1;
    double all = 0;
    for (int i = 0; i < 8; i++) all += (double)v[i];
    *total = all;
    *busy = all - (double)v[3] - (double)v[4]; /* less idle and iowait */
    return 0;
}

static double cpu_self0, cpu_self1, cpu_srv0 = -1, cpu_srv1 = -1;
static double mach_busy0, mach_total0, mach_busy1, mach_total1;
static int mach_ok0 = -1, mach_ok1 = -1;
static double setup_cpu_self = -1; /* CPU seconds this process spent connecting */

static void cpu_snapshot(int end) {
    double s = self_cpu_s();
    if (end) {
        cpu_self1 = s;
        mach_ok1 = machine_ticks(&mach_busy1, &mach_total1);
        tree1_n = opt.server_pid ? sample_tree(opt.server_pid, tree1, 1) : -1;
        cpu_srv1 = tree_cpu_s(tree1, tree1_n);
    } else {
        cpu_self0 = s;
        mach_ok0 = machine_ticks(&mach_busy0, &mach_total0);
        tree0_n = opt.server_pid ? sample_tree(opt.server_pid, tree0, 0) : -1;
        cpu_srv0 = tree_cpu_s(tree0, tree0_n);
    }
}

/* each process of the server's tree at the end of the window: its CPU % over
   the window, and the sockets it gained since before the first client
   connected (its clients, where nothing else connects meanwhile) */
static void print_tree(double window) {
    printf("\"server_procs\":%d,\"server_proc_cpu_pct\":[", tree1_n > 0 ? tree1_n : 0);
    for (int i = 0; i < tree1_n; i++) {
        double before = -1;
        for (int k = 0; k < tree0_n; k++)
            if (tree0[k].pid == tree1[i].pid) before = tree0[k].cpu_s;
        double pct = (before >= 0 && window > 0) ? 100.0 * (tree1[i].cpu_s - before) / window : -1.0;
        printf("%s%.1f", i ? "," : "", pct);
    }
    printf("],\"server_proc_new_sockets\":[");
    for (int i = 0; i < tree1_n; i++) {
        long before = -1;
        for (int k = 0; k < tree_base_n; k++)
            if (tree_base[k].pid == tree1[i].pid) before = tree_base[k].sockets;
        printf("%s%ld", i ? "," : "",
               (before >= 0 && tree1[i].sockets >= 0) ? tree1[i].sockets - before : -1L);
    }
    printf("],");
}

static long read_rss_kb(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen [--host H] [--port P] [--path /socket.io/] "
            "[--proto sio|polling|raw|v09]\n"
            "               [--scenario echo|fanout|chat|idle] [--clients N] [--concurrency C]\n"
            "               [--warmup S] [--duration S] [--setup-timeout S] [--settle S]\n"
            "               [--payload-size B] [--batch K] [--window W] [--server-pid PID]\n"
            "               [--drain S]\n"
            "               [--ping-interval S] [--ping-slack S] [--source-ips N] [--quiet]\n"
            "               [--scenario cycle --cycles N (--setup-timeout: the stall limit)]\n");
    exit(2);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            opt.quiet = 1;
            continue;
        }
        if (!v) usage();
        i++;
        if (!strcmp(a, "--host")) opt.host = v;
        else if (!strcmp(a, "--port")) opt.port = atoi(v);
        else if (!strcmp(a, "--path")) opt.path = v;
        else if (!strcmp(a, "--proto")) {
            if (!strcmp(v, "sio")) opt.proto = P_SIO;
            else if (!strcmp(v, "polling")) opt.proto = P_POLLING;
            else if (!strcmp(v, "raw")) opt.proto = P_RAW;
            else if (!strcmp(v, "v09")) opt.proto = P_V09;
            else usage();
        } else if (!strcmp(a, "--scenario")) {
            if (!strcmp(v, "echo")) opt.scenario = S_ECHO;
            else if (!strcmp(v, "fanout")) opt.scenario = S_FANOUT;
            else if (!strcmp(v, "idle")) opt.scenario = S_IDLE;
            else if (!strcmp(v, "cycle")) opt.scenario = S_CYCLE;
            else if (!strcmp(v, "chat")) opt.scenario = S_CHAT;
            else usage();
        } else if (!strcmp(a, "--clients")) opt.clients = atoi(v);
        else if (!strcmp(a, "--concurrency")) opt.concurrency = atoi(v);
        else if (!strcmp(a, "--warmup")) opt.warmup = atof(v);
        else if (!strcmp(a, "--duration")) opt.duration = atof(v);
        else if (!strcmp(a, "--setup-timeout")) opt.setup_timeout = atof(v);
        else if (!strcmp(a, "--settle")) opt.settle = atof(v);
        else if (!strcmp(a, "--payload-size")) opt.payload_size = atoi(v);
        else if (!strcmp(a, "--batch")) opt.batch = atoi(v);
        else if (!strcmp(a, "--window")) opt.window = atoi(v);
        else if (!strcmp(a, "--server-pid")) opt.server_pid = atoi(v);
        else if (!strcmp(a, "--drain")) opt.drain = atof(v);
        else if (!strcmp(a, "--ping-interval")) opt.ping_interval = atof(v);
        else if (!strcmp(a, "--ping-slack")) opt.ping_slack = atof(v);
        else if (!strcmp(a, "--source-ips")) opt.source_ips = atoi(v);
        else if (!strcmp(a, "--cycles")) opt.cycles = atol(v);
        else usage();
    }
    if (opt.clients < 1 || opt.concurrency < 1 || opt.payload_size < 1 || opt.batch < 1 ||
        opt.window < 1 || opt.source_ips < 1 || opt.source_ips > 250)
        usage();
    if (opt.scenario == S_CYCLE && (opt.cycles < 1 || (opt.proto != P_SIO && opt.proto != P_POLLING)))
        usage();
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* cycle: sessions completed, and how the rest ended */
static void print_cycle_result(int stalled) {
    double elapsed = secs(now_ns() - t_start);
    unsigned long busy = 0;
    for (int i = 0; i < opt.clients; i++)
        if (clients[i].state != C_DEAD) busy++;
    printf("{\"proto\":\"%s\",\"scenario\":\"cycle\",\"clients\":%d,\"cycles_wanted\":%ld,"
           "\"cycles\":%lu,\"elapsed_s\":%.3f,\"cycles_per_s\":%.1f,\"acks\":%lu,"
           "\"bad_payloads\":%lu,\"stalled\":%s,\"unfinished\":%lu,\"fd_limit_hit\":%lu,"
           "\"connect_failures\":%lu,\"disconnects\":%lu,\"errors\":%lu,\"proto_errors\":%lu}\n",
           opt.proto == P_POLLING ? "polling" : "sio", opt.clients, opt.cycles,
           (unsigned long)st.cycles, elapsed, elapsed > 0 ? (double)st.cycles / elapsed : 0.0,
           (unsigned long)st.acks, (unsigned long)st.bad_payloads, stalled ? "true" : "false",
           busy, (unsigned long)st.fd_limit_hit, (unsigned long)st.connect_failures,
           (unsigned long)st.disconnects, (unsigned long)st.errors,
           (unsigned long)st.proto_errors);
    fflush(stdout);
}

/* cycle: keep every client in a session until --cycles have started; ends when
   all are done, or when none completes for --setup-timeout seconds */
static int run_cycles(void) {
    struct epoll_event evs[1024];
    uint64_t next_log = t_start + 2000000000ull;
    phase = 1;
    st.last_cycle_ns = t_start;
    for (int i = 0; i < opt.clients; i++) clients[i].state = C_DEAD;
    for (;;) {
        uint64_t t = now_ns();
        int busy = 0;
        for (int i = 0; i < opt.clients; i++) {
            struct client *cl = &clients[i];
            if (cl->state == C_DEAD && st.started < (uint64_t)opt.cycles && !st.fd_limit_hit) {
                restart_client(cl);
                start_client(cl);
            }
            if (cl->state != C_DEAD) busy++;
        }
        if (!busy) return 0;
        if (secs(t - st.last_cycle_ns) > opt.setup_timeout) {
            logf_("no session completed in %.0f s", opt.setup_timeout);
            return 1;
        }
        if (t >= next_log) {
            logf_("cycles %lu started %lu errors %lu", (unsigned long)st.cycles,
                  (unsigned long)st.started, (unsigned long)st.errors);
            next_log = t + 2000000000ull;
        }
        int n = epoll_wait(ep, evs, 1024, 5);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->kstate == K_CLOSED) continue;
            if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                if (c->kstate == K_CONNECTING || c->out.len) on_writable(c);
                if (c->kstate == K_CLOSED) continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
        }
    }
}

static void print_result(void) {
    double window = secs(t_measure1 - t_measure0);
    printf("{\"proto\":\"%s\",\"scenario\":\"%s\",\"clients\":%d,",
           (const char *[]){"sio", "polling", "raw", "v09"}[opt.proto],
           (const char *[]){"echo", "fanout", "idle", "cycle", "chat"}[opt.scenario], opt.clients);
    printf("\"clients_ready\":%lu,\"setup_s\":%.3f,", (unsigned long)st.ready,
           t_setup_done ? secs(t_setup_done - t_start) : -1.0);
    if (opt.scenario == S_ECHO) {
        uint64_t acks = snap_acks1 - snap_acks0;
        printf("\"window_s\":%.3f,\"acks\":%lu,\"acks_per_s\":%.1f,\"p50_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"bad_payloads\":%lu,",
               window, (unsigned long)acks, window > 0 ? (double)acks / window : 0.0,
               hist_percentile(0.50), hist_percentile(0.99), (double)st.lat_max_us / 1000.0,
               (unsigned long)st.bad_payloads);
    } else if (opt.scenario == S_FANOUT || opt.scenario == S_CHAT) {
        uint64_t d = snap_deliv1 - snap_deliv0;
        printf("\"window_s\":%.3f,\"deliveries\":%lu,\"deliveries_per_s\":%.1f,"
               "\"triggers\":%lu,\"deliveries_total\":%lu,\"deliveries_expected\":%lu,"
               "\"delivered_pct\":%.3f,\"drain_s\":%.3f,",
               window, (unsigned long)d, window > 0 ? (double)d / window : 0.0,
               (unsigned long)st.triggers, (unsigned long)st.deliveries,
               (unsigned long)st.expected,
               st.expected ? 100.0 * (double)st.deliveries / (double)st.expected : -1.0,
               t_drained > t_measure1 ? secs(t_drained - t_measure1) : 0.0);
    } else {
        double connect_s = t_setup_done ? secs(t_setup_done - t_start) : -1.0;
        long grown = rss_after_kb - rss_before_kb;
        printf("\"connect_s\":%.3f,\"connects_per_s\":%.1f,\"rss_before_kb\":%ld,"
               "\"rss_after_kb\":%ld,\"rss_per_conn_bytes\":%.0f,\"hold_s\":%.3f,"
               "\"pings\":%lu,\"ping_gaps\":%lu,\"pings_late\":%lu,\"heartbeats_on_time_pct\":%.2f,"
               "\"max_ping_gap_ms\":%.1f,",
               connect_s, connect_s > 0 ? (double)st.ready / connect_s : 0.0, rss_before_kb,
               rss_after_kb,
               (rss_before_kb >= 0 && rss_after_kb >= 0 && st.ready)
                   ? (double)grown * 1024.0 / (double)st.ready
                   : -1.0,
               window, (unsigned long)st.pings, (unsigned long)st.gaps,
               (unsigned long)st.pings_late,
               st.gaps ? 100.0 * (double)(st.gaps - st.pings_late) / (double)st.gaps : -1.0,
               (double)st.max_gap_ns / 1e6);
    }
    /* clients that never got ready, by where they stalled: tells a server that
       does not accept from one that does not answer the handshake */
    unsigned long stalled[C_DEAD + 1] = {0};
    for (int i = 0; i < next_to_start; i++)
        if (clients[i].state != C_READY) stalled[clients[i].state]++;
    printf("\"stalled\":{\"tcp_or_upgrade\":%lu,\"eio_open\":%lu,\"sio_connect\":%lu,"
           "\"join\":%lu,\"failed\":%lu},\"not_started\":%d,",
           stalled[C_NEW], stalled[C_OPENING], stalled[C_NSCONNECT], stalled[C_JOINING],
           stalled[C_DEAD], opt.clients - next_to_start);
    printf("\"loadgen_setup_cpu_pct\":%.1f,",
           t_setup_done > t_start ? 100.0 * setup_cpu_self / secs(t_setup_done - t_start) : -1.0);
    printf("\"loadgen_cpu_pct\":%.1f,\"server_cpu_pct\":%.1f,",
           window > 0 ? 100.0 * (cpu_self1 - cpu_self0) / window : -1.0,
           (window > 0 && cpu_srv0 >= 0 && cpu_srv1 >= 0) ? 100.0 * (cpu_srv1 - cpu_srv0) / window
                                                          : -1.0);
    /* how busy the whole machine was over the window (every process), in % of
       all its cores, and how many cores it has: the share the generator took */
    printf("\"machine_cpu_pct\":%.1f,\"cpus\":%ld,",
           (mach_ok0 == 0 && mach_ok1 == 0 && mach_total1 > mach_total0)
               ? 100.0 * (mach_busy1 - mach_busy0) / (mach_total1 - mach_total0)
               : -1.0,
           sysconf(_SC_NPROCESSORS_ONLN));
    if (opt.server_pid && opt.scenario != S_CYCLE) print_tree(window);
    printf("\"fd_limit_hit\":%lu,\"connect_failures\":%lu,\"disconnects\":%lu,\"errors\":%lu,"
           "\"proto_errors\":%lu}\n",
           (unsigned long)st.fd_limit_hit, (unsigned long)st.connect_failures,
           (unsigned long)st.disconnects, (unsigned long)st.errors,
           (unsigned long)st.proto_errors);
    fflush(stdout);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        return 2;
    }
    rbuf = malloc(RBUF_SIZE);
    hist = calloc(HIST_SIZE, sizeof *hist);
    clients = calloc((size_t)opt.clients, sizeof *clients);
    if (!rbuf || !hist || !clients) die("malloc");
    for (int i = 0; i < opt.clients; i++) clients[i].idx = i;
    build_messages();
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    if (opt.server_pid) {
        rss_before_kb = read_rss_kb(opt.server_pid);
        if (opt.scenario != S_CYCLE) tree_base_n = sample_tree(opt.server_pid, tree_base, 1);
    }

    t_start = now_ns();
    if (opt.scenario == S_CYCLE) {
        int stalled = run_cycles();
        phase = 3;
        print_cycle_result(stalled);
        for (int i = 0; i < opt.clients; i++) restart_client(&clients[i]);
        return 0;
    }
    struct epoll_event evs[1024];
    uint64_t next_log = t_start + 2000000000ull;
    uint64_t t_rss = 0, t_end = 0;
    uint64_t drain_seen = 0, drain_progress = 0;

    for (;;) {
        uint64_t t = now_ns();
        if (phase == 0) {
            /* open connections, at most `concurrency` handshakes at a time */
            while (next_to_start < opt.clients && st.inflight < (uint64_t)opt.concurrency &&
                   !st.fd_limit_hit) {
                start_client(&clients[next_to_start++]);
            }
            int all_started = next_to_start >= opt.clients || st.fd_limit_hit;
            int timed_out = secs(t - t_start) > opt.setup_timeout;
            if ((all_started && st.inflight == 0) || timed_out) {
                t_setup_done = t;
                setup_cpu_self = self_cpu_s();
                if (timed_out) logf_("setup timed out: %lu of %d ready", st.ready, opt.clients);
                logf_("%lu clients ready in %.2f s", st.ready, secs(t - t_start));
                if (st.ready == 0) {
                    phase = 3;
                    t_measure0 = t_measure1 = t;
                    break;
                }
                phase = 1;
                if (opt.scenario == S_IDLE) {
                    t_rss = t + (uint64_t)(opt.settle * 1e9);
                } else {
                    t_measure0 = t + (uint64_t)(opt.warmup * 1e9);
                    t_measure1 = t_measure0 + (uint64_t)(opt.duration * 1e9);
                }
                if (opt.scenario == S_ECHO) {
                    for (int i = 0; i < opt.clients; i++)
                        if (clients[i].state == C_READY) send_echo(&clients[i]);
                }
            }
        }
        if (phase >= 1 && opt.scenario == S_IDLE) {
            if (t_rss && t >= t_rss) {
                if (opt.server_pid) rss_after_kb = read_rss_kb(opt.server_pid);
                t_rss = 0;
                t_measure0 = t;
                cpu_snapshot(0);
                t_end = t + (uint64_t)(opt.duration * 1e9);
                phase = 2;
            }
            if (phase == 2 && t >= t_end) {
                t_measure1 = t;
                cpu_snapshot(1);
                phase = 3;
                break;
            }
        } else if (phase >= 1) {
            if (phase == 1 && t >= t_measure0) {
                snap_acks0 = st.acks;
                snap_deliv0 = st.deliveries;
                t_measure0 = t;
                cpu_snapshot(0);
                phase = 2;
            }
            if (phase == 2 && t >= t_measure1) {
                snap_acks1 = st.acks;
                snap_deliv1 = st.deliveries;
                t_measure1 = t;
                cpu_snapshot(1);
                if (opt.scenario != S_FANOUT && opt.scenario != S_CHAT) {
                    phase = 3;
                    break;
                }
                /* send no more, and wait for what is owed: a broadcast that
                   misses some of the room shows as delivered_pct below 100 */
                phase = 4;
                drain_seen = st.deliveries;
                drain_progress = t;
            }
            if (phase == 4) {
                if (st.deliveries != drain_seen) {
                    drain_seen = st.deliveries;
                    drain_progress = t;
                }
                /* done when all arrived, when nothing arrived for 3 seconds
                   (a slow server on a busy machine may pause for one), or at
                   --drain seconds (0: no wait) */
                if (st.deliveries >= st.expected || secs(t - drain_progress) >= 3.0 ||
                    secs(t - t_measure1) >= opt.drain) {
                    t_drained = t;
                    phase = 3;
                    break;
                }
            } else if (opt.scenario == S_FANOUT) {
                /* keep at most `window` batches undelivered; the driver is client 0,
                   or the first live client if 0 went away */
                uint64_t batch_deliveries = (uint64_t)opt.batch * st.ready;
                while (st.triggers < (uint64_t)opt.window ||
                       st.deliveries >= (st.triggers - (uint64_t)opt.window) * batch_deliveries) {
                    struct client *drv = NULL;
                    for (int i = 0; i < opt.clients && !drv; i++)
                        if (clients[i].state == C_READY) drv = &clients[i];
                    if (!drv) break;
                    send_pre(drv, &pre_trigger);
                    st.triggers++;
                    st.expected += batch_deliveries;
                }
            } else if (opt.scenario == S_CHAT) {
                /* senders take turns; at most batch * window chats undelivered */
                uint64_t inflight = (uint64_t)opt.batch * (uint64_t)opt.window;
                while (st.triggers < inflight ||
                       st.deliveries >= (st.triggers - inflight) * st.ready) {
                    struct client *snd = NULL;
                    for (int k = 0; k < opt.clients && !snd; k++) {
                        struct client *c = &clients[next_sender];
                        next_sender = (next_sender + 1) % opt.clients;
                        if (c->state == C_READY) snd = c;
                    }
                    if (!snd) break;
                    send_pre(snd, &pre_chat);
                    st.triggers++;
                    st.expected += st.ready;
                }
            }
        }
        if (t >= next_log) {
            logf_("phase %d: ready %lu inflight %lu acks %lu deliveries %lu errors %lu", phase,
                  st.ready, st.inflight, st.acks, st.deliveries, st.errors);
            next_log = t + 2000000000ull;
        }
        int n = epoll_wait(ep, evs, 1024, 5);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->kstate == K_CLOSED) continue;
            if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                if (c->kstate == K_CONNECTING || c->out.len) on_writable(c);
                if (c->kstate == K_CLOSED) continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
        }
    }
    print_result();
    /* close by reset so a shared machine is not left with thousands of TIME_WAITs */
    for (int i = 0; i < opt.clients; i++) {
        if (clients[i].ws) conn_close(clients[i].ws);
        if (clients[i].post) conn_close(clients[i].post);
    }
    return 0;
}
