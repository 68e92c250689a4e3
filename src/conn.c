/* conn: plain or TLS connection with a capped line reader and coalesced writes. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdlib.h>

#include "conn.h"
#include "net.h"

/* "try again once the socket is ready", from either kind of connection */
#define CONN_AGAIN (-2)

struct conn {
	int fd;
	struct tls *tls;	/* NULL while plain */
	int timeout;		/* seconds, for every wait */
	char in[CONN_IN_SIZE];
	size_t in_pos, in_len;
	struct buf out;
};

struct conn *conn_open(const char *host, int port, int timeout_s, struct err *e)
{
	struct conn *c = xmalloc(sizeof *c);

	memset(c, 0, sizeof *c);
	c->timeout = timeout_s;
	buf_init(&c->out, (size_t)CONN_OUT_FLUSH * 4);
	c->fd = net_connect(host, port, timeout_s, e);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	return c;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->tls) {
		tls_bye(c->tls);
		tls_free(c->tls);
	}
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->out);
	free(c);
}

void conn_cap_timeout(struct conn *c, int seconds)
{
	if (c->timeout > seconds)
		c->timeout = seconds;
}

int conn_timeout(const struct conn *c)
{
	return c->timeout;
}

size_t conn_pending(const struct conn *c)
{
	return c->in_len - c->in_pos;
}

int conn_is_tls(const struct conn *c)
{
	return c->tls != NULL;
}

int conn_tls_resumed(const struct conn *c)
{
	return c->tls && tls_resumed(c->tls);
}

void conn_tls_describe(const struct conn *c, char *out, size_t size)
{
	if (c->tls)
		tls_describe(c->tls, out, size);
	else if (size)
		out[0] = '\0';
}

int conn_channel_binding(const struct conn *c, const char **type, char *b64, size_t size)
{
	return c->tls ? tls_channel_binding(c->tls, type, b64, size) : -1;
}

void conn_tls_info(const struct conn *c, FILE *out)
{
	if (c->tls)
		tls_print_info(c->tls, out);
}

long long conn_deadline(const struct conn *c)
{
	return net_now() + (long long)c->timeout * 1000;
}

/* Fills the input buffer (which must be empty); 0 or -1. */
static int conn_fill(struct conn *c, long long deadline, struct err *e)
{
	for (;;) {
		ssize_t n;
		int want_write = 0;

		if (c->tls) {
			n = tls_recv(c->tls, c->in, sizeof c->in, e);
			if (n == TLS_AGAIN) {
				n = CONN_AGAIN;
				want_write = tls_wants_write(c->tls);
			}
		} else {
			n = read(c->fd, c->in, sizeof c->in);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				n = CONN_AGAIN;
			else if (n < 0)
				return err_set(e, ERR_TEMP, "%s", strerror(errno));
		}
		if (n > 0) {
			c->in_pos = 0;
			c->in_len = (size_t)n;
			return 0;
		}
		if (n == 0)
			return err_set(e, ERR_TEMP, "the server closed it");
		if (n != CONN_AGAIN)
			return -1;
		/* the server's reply must not wait for our delayed ACK of what it sent before */
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){ 1 }, sizeof(int));
		if (net_wait(c->fd, want_write, deadline, "waiting for the server", e) < 0)
			return -1;
	}
}

int conn_readline(struct conn *c, struct buf *line, long long deadline, struct err *e)
{
	buf_reset(line);
	for (;;) {
		char *start = c->in + c->in_pos, *nl;
		size_t avail = c->in_len - c->in_pos, take;

		if (!avail) {
			if (conn_fill(c, deadline, e) < 0)
				return -1;
			continue;
		}
		nl = memchr(start, '\n', avail);
		take = nl ? (size_t)(nl - start) : avail;
		if (buf_add(line, start, take) < 0)
			return err_set(e, ERR_PROTOCOL, "line longer than %zu bytes", line->max);
		c->in_pos += take;
		if (nl) {
			c->in_pos++;
			if (line->len && line->data[line->len - 1] == '\r')
				line->data[--line->len] = '\0';
			return 0;
		}
	}
}

static int conn_send(struct conn *c, const char *p, size_t n, struct err *e)
{
	long long deadline = conn_deadline(c);

	while (n) {
		ssize_t w;
		int want_read = 0;

		if (c->tls) {
			w = tls_send(c->tls, p, n, e);
			if (w == TLS_AGAIN) {
				w = CONN_AGAIN;
				want_read = !tls_wants_write(c->tls);
			}
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				w = CONN_AGAIN;
			else if (w < 0)
				return err_set(e, ERR_TEMP, "%s", strerror(errno));
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w != CONN_AGAIN)
			return -1;
		if (net_wait(c->fd, !want_read, deadline, "sending to the server", e) < 0)
			return -1;
	}
	while (c->tls) {	/* the records held back for one write */
		int r = tls_flush(c->tls, e);

		if (r != TLS_AGAIN)
			return r;
		if (net_wait(c->fd, 1, deadline, "sending to the server", e) < 0)
			return -1;
	}
	return 0;
}

int conn_flush(struct conn *c, struct err *e)
{
	int r = conn_send(c, c->out.data, c->out.len, e);

	buf_reset(&c->out);
	return r;
}

int conn_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	if (c->out.len + n > CONN_OUT_FLUSH && c->out.len && conn_flush(c, e) < 0)
		return -1;
	if (n > CONN_OUT_FLUSH)	/* too big to be worth copying */
		return conn_send(c, p, n, e);
	if (buf_add(&c->out, p, n) < 0)
		return err_set(e, ERR_SOFTWARE, "output buffer overflow");
	return 0;
}

int conn_starttls(struct conn *c, const struct tls_opts *o, struct err *e)
{
	long long deadline = conn_deadline(c);
	int r;

	if (c->in_pos != c->in_len)
		return err_set(e, ERR_PROTOCOL, "the server sent data after its reply to STARTTLS "
			       "(a possible command injection attack); refusing to continue");
	c->tls = tls_new(c->fd, o, e);
	if (!c->tls)
		return -1;
	while ((r = tls_handshake(c->tls, e)) == TLS_AGAIN)
		if (net_wait(c->fd, tls_wants_write(c->tls), deadline, "in the TLS handshake", e) < 0)
			return -1;
	return r;
}
