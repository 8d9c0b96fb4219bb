/*
 * conn_drain.c -- half-close and drain before civetweb closes (see
 * conn_drain.h).
 */
#include "conn_drain.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timeutil.h"

static int port_of(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	if (a->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	return -1;
}

static void addr_text(const struct sockaddr_storage *a, char *out, socklen_t outlen)
{
	out[0] = '\0';
	if (a->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, out, outlen);
	else if (a->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, out, outlen);
}

/* The socket of this request: peer = remote address:port, local port = server port. */
static int find_socket(const struct mg_request_info *ri)
{
	struct rlimit rl;
	int maxfd = 4096;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)maxfd)
		maxfd = (int)rl.rlim_cur;
	for (int fd = 3; fd < maxfd; fd++) {
		struct sockaddr_storage peer, local;
		socklen_t pl = sizeof peer, ll = sizeof local;
		char addr[INET6_ADDRSTRLEN];

		if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || port_of(&peer) != ri->remote_port)
			continue;
		if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 || port_of(&local) != ri->server_port)
			continue;
		addr_text(&peer, addr, sizeof addr);
		if (strcmp(addr, ri->remote_addr) == 0)
			return fd;
	}
	return -1;
}

long long conn_drain(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct timespec t0;
	long long discarded = 0;
	char buf[16384];
	int fd;

	if (!ri || ri->remote_port <= 0 || (fd = find_socket(ri)) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	shutdown(fd, SHUT_WR);
	while (discarded < DRAIN_MAX_BYTES) {
		int left = DRAIN_MAX_MS - (int)(seconds_since(&t0) * 1000);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left < DRAIN_IDLE_MS ? left : DRAIN_IDLE_MS) <= 0)
			break; /* deadline, or the client went quiet */
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n <= 0)
			break; /* the client closed its side (or an error): done */
		discarded += n;
	}
	return discarded;
}
