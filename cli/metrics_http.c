/* SPDX-License-Identifier: MIT */
/*
 * --metrics-listen: GET /metrics over HTTP with libmicrohttpd, whose own
 * thread answers each scrape with art_runtime_metrics (any thread may call
 * it). The listening socket is ours: bound to exactly the address given,
 * so that port 0 can be read back and printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"

struct cli_metrics_server {
	struct MHD_Daemon *daemon;
	art_runtime *rt;
};

static const char prometheus_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char openmetrics_type[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len)
{
	/* body is malloc'd (MUST_FREE) or static text (PERSISTENT). */
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, body, status == MHD_HTTP_OK ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		if (status == MHD_HTTP_OK)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	(void)con_cls;
	cli_metrics_server *s = cls;
	static char not_found[] = "not found: try /metrics\n";
	static char not_allowed[] = "only GET and HEAD\n";
	static char failed[] = "cannot read the metrics\n";
	if (*upload_size) {
		*upload_size = 0; /* a body is not expected: ignore it */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found,
			     sizeof(not_found) - 1);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     not_allowed, sizeof(not_allowed) - 1);
	/* Prometheus asks for OpenMetrics first when it can read it. */
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	bool om = accept && strstr(accept, "application/openmetrics-text");
	char *text = NULL;
	size_t len = 0;
	if (art_runtime_metrics(s->rt, om ? ART_METRICS_OPENMETRICS : ART_METRICS_PROMETHEUS, &text,
				&len) < 0)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     failed, sizeof(failed) - 1);
	return reply(conn, MHD_HTTP_OK, om ? openmetrics_type : prometheus_type, text, len);
}

/* "HOST:PORT" or "[V6]:PORT" into host and port (pointers into buf). */
static int split_address(char *buf, char **host, char **port)
{
	char *colon = strrchr(buf, ':');
	if (!colon || !colon[1] || colon == buf)
		return -EINVAL;
	*colon = 0;
	*port = colon + 1;
	*host = buf;
	if (buf[0] == '[') {
		size_t n = strlen(buf);
		if (n < 3 || buf[n - 1] != ']')
			return -EINVAL;
		buf[n - 1] = 0;
		*host = buf + 1;
	} else if (strchr(buf, ':')) {
		return -EINVAL; /* an IPv6 address needs its brackets */
	}
	return 0;
}

/* A listening socket on exactly that address: never a wildcard we were
 * not asked for. */
static int listen_on(const char *address, struct sockaddr_storage *bound)
{
	char buf[256];
	char *host, *port;
	if (strlen(address) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, address);
	if (split_address(buf, &host, &port) < 0) {
		cli_error("--metrics-listen: \"%s\" is not ADDRESS:PORT (examples: 127.0.0.1:9464, "
			  "[::1]:0)",
			  address);
		return -EINVAL;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		cli_error("--metrics-listen: %s: %s", address, gai_strerror(r));
		return -EINVAL;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	socklen_t blen = sizeof(*bound);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)bound, &blen) < 0) {
		r = -errno;
		cli_error("--metrics-listen: %s: %s", address, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return r;
	}
	freeaddrinfo(res);
	return fd;
}

int cli_metrics_listen(art_runtime *rt, const char *address, cli_metrics_server **out)
{
	struct sockaddr_storage bound;
	int fd = listen_on(address, &bound);
	if (fd < 0)
		return fd;
	cli_metrics_server *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->rt = rt;
	/* epoll: a batch may hold descriptors past select()'s FD_SETSIZE. */
	s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!s->daemon) {
		/* Not closed here: MHD may have closed it already. We exit. */
		cli_error("--metrics-listen: %s: cannot start the HTTP server", address);
		free(s);
		return -EIO;
	}
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	if (bound.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&bound;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&bound;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	}
	/* Even with --quiet: with port 0 this is the only way to find it. */
	fprintf(stderr, "agentrt: metrics on http://%s%s%s:%u/metrics\n",
		bound.ss_family == AF_INET6 ? "[" : "", host, bound.ss_family == AF_INET6 ? "]" : "",
		port);
	fflush(stderr);
	*out = s;
	return 0;
}

void cli_metrics_stop(cli_metrics_server *s)
{
	if (!s)
		return;
	/* Waits for a scrape in progress; closes the listening socket. */
	MHD_stop_daemon(s->daemon);
	free(s);
}
