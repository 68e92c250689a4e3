/* net: connect with timeouts across address families; deadline waits. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

long long net_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_wait(int fd, int want_write, long long deadline, const char *what, struct err *e)
{
	struct pollfd p = { .fd = fd, .events = want_write ? POLLOUT : POLLIN };

	for (;;) {
		long long left = deadline - net_now();
		int r;

		if (left <= 0)
			return err_timeout(e, "timed out %s", what);
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return err_set(e, ERR_OS, "poll: %s", strerror(errno));
	}
}

/* One address: 0 and the socket in *out, or -1 with errno-style text in e. */
static int net_try(const struct addrinfo *ai, int timeout_s, int *out, struct err *e)
{
	int fd, one = 1, soerr = 0;
	socklen_t len = sizeof soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return err_set(e, ERR_TEMP, "%s", strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err_set(e, ERR_TEMP, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		if (net_wait(fd, 1, net_now() + (long long)timeout_s * 1000,
			     "connecting", e) < 0) {
			if (e->flags & ERR_TIMEOUT)
				err_timeout(e, "timed out after %d s", timeout_s);
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			err_set(e, ERR_TEMP, "%s", strerror(soerr));
			close(fd);
			return -1;
		}
	}
	/* postbote coalesces its own writes; Nagle would only add delayed-ACK stalls */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*out = fd;
	return 0;
}

int net_connect(const char *host, int port, int timeout_s, struct err *e)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	char service[8];
	int r, fd = -1;

	snprintf(service, sizeof service, "%d", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r == EAI_NONAME || r == EAI_NODATA)	/* AI_ADDRCONFIG hides ::1 without IPv6 */
		r = getaddrinfo(host, service, &(struct addrinfo){ .ai_socktype = SOCK_STREAM }, &res);
	if (r == EAI_NONAME || r == EAI_NODATA)
		return err_set(e, ERR_NOHOST, "cannot connect to %s: host name not found", host);
	if (r == EAI_SYSTEM)
		return err_set(e, ERR_TEMP, "cannot connect to %s: name lookup failed: %s", host,
			       strerror(errno));
	if (r)
		return err_set(e, ERR_TEMP, "cannot connect to %s: name lookup failed: %s", host,
			       gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next)
		if (net_try(ai, timeout_s, &fd, e) == 0)
			break;
	freeaddrinfo(res);
	if (fd < 0)
		return err_wrap(e, "cannot connect to %s port %d", host, port);
	return fd;
}

void net_fqdn(char *out, size_t size)
{
	struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *res;

	if (gethostname(out, size) < 0 || !*out)
		snprintf(out, size, "localhost");
	out[size - 1] = '\0';
	if (!strchr(out, '.') && getaddrinfo(out, NULL, &hints, &res) == 0) {
		if (res->ai_canonname && strchr(res->ai_canonname, '.'))
			snprintf(out, size, "%s", res->ai_canonname);
		freeaddrinfo(res);
	}
}
