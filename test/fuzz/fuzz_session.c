/* libFuzzer target for the client command loop: per input, one client
 * connects to the in-process proxy (fuzz_proxy.h), logs in for real, then
 * sends the input; the proxy's loop runs in this thread until nothing moves
 * any more (or a bound on turns and time), the client hangs up, and the loop
 * runs until the session and its backend connections are gone.
 *
 * Input layout: byte 0 picks the mode, the rest is the data.
 *   bit 0      0: the data is written as raw bytes;
 *              1: the data is a list of packets, each a length byte (0xFF:
 *                 two more bytes, little-endian) and that many payload bytes,
 *                 sent with headers and sequence id 0
 *   bit 1      the client asks for CLIENT_DEPRECATE_EOF
 *   bit 2      the client logs in with a default database
 *   bit 3      the client sends connection attributes
 *   bit 4      trickle: write the data a few bytes per loop turn
 *   bits 5-7   trickle piece size - 1
 * Wherever the data holds AUTH_MARKER, the client puts its password's
 * mysql_native_password reply to the greeting's scramble, so COM_CHANGE_USER
 * and the auth switch it may start can succeed. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "proxy/client_session.h"
#include "test/fuzz/fuzz_proxy.h"

#define MODE_PACKETS 0x01
#define MODE_DEPRECATE_EOF 0x02
#define MODE_DATABASE 0x04
#define MODE_ATTRS 0x08
#define MODE_TRICKLE 0x10

#define LOGIN_MS 3000       /* greeting and OK: each must arrive by then */
#define COMMANDS_MS 1000    /* the command phase of one input at most */
#define COMMAND_TURNS 20000 /* and at most this many loop turns */
#define CLOSE_MS 2000       /* for the session to go once the client left */
#define IDLE_TURNS 3        /* turns without movement before asking the kernel */
#define CLIENT_IN_CAP (64 * 1024)
#define AUTH_MARKER "#NATIVE_REPLY_OF_PW#" /* SHA1_LEN bytes */

struct client {
    int fd;
    bool closed;   /* the proxy closed the connection */
    bool keep;     /* login: keep what arrives; commands: discard it */
    uint8_t in[CLIENT_IN_CAP];
    size_t in_len;
    uint8_t reply[SHA1_LEN]; /* the login's auth reply: valid for this connection */
};

static struct fuzz_proxy fp;
static size_t idle_handles;     /* handles on the loop with no session open */
static bool told_outlived;      /* a session did not notice its client left */

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_session: %s (errno: %s)\n", why, strerror(errno));
    abort();
}

static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

static void count_handle(uv_handle_t *h, void *arg)
{
    (void)h;
    (*(size_t *)arg)++;
}

/* Every handle, closing ones included: each session, backend connection
 * and fake-server connection has one until its memory is freed. */
static size_t loop_handles(void)
{
    size_t n = 0;
    uv_walk(&fp.worker.loop, count_handle, &n);
    return n;
}

/* Reads what the proxy sent; true when something arrived. */
static bool client_drain(struct client *c)
{
    bool got = false;
    for (;;) {
        uint8_t scratch[16 * 1024];
        uint8_t *dst = c->keep ? c->in + c->in_len : scratch;
        size_t room = c->keep ? sizeof c->in - c->in_len : sizeof scratch;
        if (room == 0)
            fail("the proxy sent more than 64 KiB during login");
        ssize_t n = recv(c->fd, dst, room, MSG_DONTWAIT);
        if (n > 0) {
            got = true;
            if (c->keep)
                c->in_len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c->closed = true;
            return true;
        }
        return got;
    }
}

/* One non-blocking turn of the loop, then the client's side. True when
 * anything moved. */
static bool turn(struct client *c)
{
    uint64_t before = fp.backend.activity;
    uv_run(&fp.worker.loop, UV_RUN_NOWAIT);
    bool moved = fp.backend.activity != before;
    if (c && !c->closed)
        moved |= client_drain(c);
    return moved;
}

/* Nothing is ready for the loop nor the client within ms (libuv's epoll is
 * level-triggered, so its fd shows whether a turn would find work). */
static bool kernel_quiet(const struct client *c, int ms)
{
    struct pollfd p[2] = {{.fd = uv_backend_fd(&fp.worker.loop), .events = POLLIN},
                          {.fd = c && !c->closed ? c->fd : -1, .events = POLLIN}};
    return poll(p, 2, ms) == 0;
}

/* Runs the loop until a whole logical packet is at the start of c->in. */
static void client_packet(struct client *c, const uint8_t **payload, size_t *len, size_t *wire)
{
    uint64_t deadline = now_ms() + LOGIN_MS;
    while (!logical_packet_span(c->in, c->in_len, wire, len) || *wire != *len + 4) {
        if (c->closed)
            fail("the proxy closed the connection during login");
        if (now_ms() > deadline)
            fail("no complete packet from the proxy during login");
        if (!turn(c))
            kernel_quiet(c, 1);
    }
    *payload = c->in + PACKET_HEADER_LEN;
}

/* The socket is non-blocking and libFuzzer's timer signal may interrupt any
 * call: go on until everything is written. */
static void client_send_all(struct client *c, const uint8_t *buf, size_t len)
{
    uint64_t deadline = now_ms() + LOGIN_MS;
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if ((errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
                   now_ms() > deadline) {
            fail("cannot write the login packet");
        } else if (!turn(c)) {
            kernel_quiet(c, 1);
        }
    }
}

static void client_consume(struct client *c, size_t wire)
{
    memmove(c->in, c->in + wire, c->in_len - wire);
    c->in_len -= wire;
}

/* A real mysql_native_password login with the capabilities the mode asks
 * for; anything but OK is a harness or proxy bug. */
static void client_login(struct client *c, uint8_t mode)
{
    static const uint8_t attrs[] = {18,  12,  '_', 'c', 'l', 'i', 'e', 'n', 't', '_',
                                    'n', 'a', 'm', 'e', 4,   'f', 'u', 'z', 'z'};
    const uint8_t *p;
    size_t len, wire;
    client_packet(c, &p, &len, &wire);
    struct server_handshake hs;
    if (server_handshake_parse(p, len, &hs) != 0 || hs.scramble_len < SCRAMBLE_LEN)
        fail("the proxy's greeting does not parse");
    uint8_t stage1[SHA1_LEN];
    native_password_stage1(FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), stage1);
    native_password_reply(stage1, hs.scramble, SCRAMBLE_LEN, c->reply);
    uint32_t caps = CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 |
                    CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_TRANSACTIONS |
                    CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS |
                    CLIENT_LOCAL_FILES | CLIENT_SESSION_TRACK |
                    CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    caps |= mode & MODE_DEPRECATE_EOF ? CLIENT_DEPRECATE_EOF : 0;
    caps |= mode & MODE_DATABASE ? CLIENT_CONNECT_WITH_DB : 0;
    caps |= mode & MODE_ATTRS ? CLIENT_CONNECT_ATTRS : 0;
    struct handshake_response_out out = {
        .capabilities = caps,
        .max_packet = 16u << 20,
        .charset = 45,
        .username = FUZZ_USER,
        .auth_response = c->reply,
        .auth_response_len = sizeof c->reply,
        .database = mode & MODE_DATABASE ? "fuzzdb" : NULL,
        .auth_plugin = AUTH_PLUGIN_NATIVE,
        .attrs = mode & MODE_ATTRS ? attrs : NULL,
        .attrs_len = mode & MODE_ATTRS ? sizeof attrs : 0,
    };
    client_consume(c, wire);
    uint8_t buf[256];
    size_t n = handshake_response_build(buf, sizeof buf, 1, &out);
    if (n == 0)
        fail("cannot build the login packet");
    client_send_all(c, buf, n);
    client_packet(c, &p, &len, &wire);
    if (len == 0 || p[0] != PACKET_OK)
        fail("the proxy refused the login");
    client_consume(c, wire);
    c->keep = false;
}

/* Sessions of earlier inputs are gone, so ids restart at 1 and an input
 * means the same each run ("KILL 1" is the client's own session). */
static void client_connect(struct client *c)
{
    atomic_store(&fp.proxy.next_session_id, 1);
    memset(c, 0, sizeof *c);
    c->keep = true;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(fp.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 &&
                      errno != EINPROGRESS && errno != EINTR))
        fail("cannot connect to the proxy");
    /* Trickled pieces must not wait for an ACK in the kernel (Nagle). */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t deadline = now_ms() + LOGIN_MS;
    struct pollfd p = {.fd = c->fd, .events = POLLOUT};
    while (poll(&p, 1, 0) != 1) {
        if (now_ms() > deadline)
            fail("the connection to the proxy does not complete");
        if (!turn(NULL))
            kernel_quiet(NULL, 1);
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
        errno = err;
        fail("cannot connect to the proxy");
    }
}

/* MODE_PACKETS: length-prefixed chunks become packets with seq 0; a short
 * last chunk takes what is left. out needs 4 * len + 4 bytes. */
static size_t frame_packets(const uint8_t *d, size_t len, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = d[i++];
        if (n == 0xFF && i + 2 <= len) {
            n = read_u16(d + i);
            i += 2;
        }
        if (n > len - i)
            n = len - i;
        packet_write_header(out + o, (uint32_t)n, 0);
        memcpy(out + o + PACKET_HEADER_LEN, d + i, n);
        o += PACKET_HEADER_LEN + n;
        i += n;
    }
    return o;
}

/* The scramble is new on every connection, so an input cannot carry a
 * valid password reply itself: it names the place and gets one here. */
static void put_auth_replies(const struct client *c, uint8_t *d, size_t len)
{
    _Static_assert(sizeof AUTH_MARKER - 1 == SHA1_LEN, "AUTH_MARKER is one reply long");
    uint8_t *end = d + len, *m;
    while ((m = memmem(d, (size_t)(end - d), AUTH_MARKER, SHA1_LEN)) != NULL) {
        memcpy(m, c->reply, SHA1_LEN);
        d = m + SHA1_LEN;
    }
}

/* Writes the data (piece by piece, one piece per turn) and runs the loop
 * until nothing moves, the proxy hangs up, or the bounds run out. */
static void client_feed(struct client *c, const uint8_t *d, size_t len, size_t piece)
{
    size_t off = 0;
    int idle = 0;
    uint64_t deadline = now_ms() + COMMANDS_MS;
    for (int turns = 0; !c->closed && turns < COMMAND_TURNS && now_ms() < deadline; turns++) {
        bool moved = false;
        if (off < len) {
            size_t n = len - off < piece ? len - off : piece;
            ssize_t w = send(c->fd, d + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                off += (size_t)w;
                moved = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return; /* the proxy hung up */
            }
        }
        moved |= turn(c);
        if (moved) {
            idle = 0;
        } else if (++idle >= IDLE_TURNS) {
            if (kernel_quiet(c, 0))
                return;
            idle = 0;
        }
    }
}

/* Runs the loop until only the idle handles are left and no request is in
 * flight. */
static bool loop_settles(uint64_t ms)
{
    uint64_t deadline = now_ms() + ms;
    while (now_ms() < deadline) {
        if (loop_handles() == idle_handles && fp.worker.loop.active_reqs.count == 0)
            return true;
        if (!turn(NULL))
            kernel_quiet(NULL, 1);
    }
    return false;
}

/* The client hangs up; the session must go with its backend connections.
 * One that does not notice is closed as shutdown would close it, and said
 * once. */
static void client_hang_up(struct client *c)
{
    close(c->fd);
    c->fd = -1;
    if (loop_settles(CLOSE_MS))
        return;
    if (!told_outlived)
        fprintf(stderr, "fuzz_session: a session outlived its client; closing it\n");
    told_outlived = true;
    client_session_close_all(&fp.worker);
    if (!loop_settles(CLOSE_MS))
        fail("sessions or backend connections still open after closing them all");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fuzz_proxy_init(&fp) != 0)
        fail("cannot start the in-process proxy");
    idle_handles = loop_handles();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    uint8_t *d = malloc(4 * len + 4);
    if (!d)
        return 0;
    if (mode & MODE_PACKETS) {
        len = frame_packets(data + 1, len, d);
    } else {
        memcpy(d, data + 1, len);
    }
    static struct client c;
    client_connect(&c);
    client_login(&c, mode);
    put_auth_replies(&c, d, len);
    client_feed(&c, d, len, mode & MODE_TRICKLE ? (size_t)(mode >> 5) + 1 : len + 1);
    client_hang_up(&c);
    free(d);
    return 0;
}
