/*
 * events.c -- the notification hub and the event streams (see events.h).
 *
 * Locking: one mutex guards the ring, the sequence and `stopping`; the
 * LISTEN thread publishes under it and broadcasts, streams copy what is
 * theirs under it and write with it released, so a slow client never
 * delays the others.  A stream wakes for every event (broadcast), finds
 * the next ones by sequence and skips other tenants' -- a few compares;
 * the ring is large enough (RING events) that a stream which is writing
 * while others publish does not miss any, and one that does (a client
 * reading slower than the tenant writes) is told to resync.
 *
 * The LISTEN connection: the gateway's DSN (NOTIFY is only ever sent on
 * the primary), application_name openrisk-gateway-events, reconnecting
 * with backoff.  Notifications sent while it was down are lost, so a
 * reconnect publishes a resync for everyone.  poll() also watches a pipe
 * so that events_stop() wakes it at once.
 */
#include "events.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "event_parse.h"
#include "http_stream.h"
#include "log.h"
#include "timeutil.h"

#define RING 1024
#define EVENT_TEXT_MAX 2048
#define STREAM_BUF (64 * 1024)
#define RETRY_MS 3000

struct ring_event {
	uint64_t seq;
	char tenant[37]; /* "" = every tenant */
	char *text;      /* "event: ...\ndata: ...\n\n" */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	struct ring_event ring[RING];
	uint64_t next_seq; /* events 1 .. next_seq - 1 exist; the last RING of them are in ring */
	int stopping;
	unsigned int epoch;
	atomic_int streams;
	struct gateway *gw;
	pthread_t thread;
	int started;
	int wake[2]; /* written by events_stop: wakes the LISTEN thread's poll */
} hub = {.mu = PTHREAD_MUTEX_INITIALIZER, .next_seq = 1, .wake = {-1, -1}};

/* The oldest sequence still in the ring (next_seq when it is empty); hub.mu held. */
static uint64_t oldest_seq(void)
{
	return hub.next_seq > RING ? hub.next_seq - RING : 1;
}

/* Add an event for tenant ("" = everyone) and wake every stream. */
static void publish(const char *tenant, const char *text)
{
	char *copy = strdup(text);
	struct ring_event *ev;

	if (!copy)
		return;
	pthread_mutex_lock(&hub.mu);
	ev = &hub.ring[hub.next_seq % RING];
	free(ev->text);
	ev->seq = hub.next_seq++;
	snprintf(ev->tenant, sizeof ev->tenant, "%s", tenant);
	ev->text = copy;
	pthread_cond_broadcast(&hub.cv);
	pthread_mutex_unlock(&hub.mu);
}

static void on_notification(const char *payload)
{
	struct event_group groups[EVENT_MAX_GROUPS];
	char text[EVENT_TEXT_MAX];
	int n = event_parse(payload, groups, EVENT_MAX_GROUPS);

	for (int i = 0; i < n; i++)
		if (event_format(&groups[i], text, sizeof text) > 0)
			publish(groups[i].tenant, text);
}

/* A LISTENing connection, or NULL (logged once per outage). */
static PGconn *listen_connect(int *warned)
{
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {hub.gw->cfg->dsn, "openrisk-gateway-events", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *r = NULL;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, "LISTEN openrisk_cache");
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			return c;
		}
	}
	if (!*warned)
		log_warn("events: cannot LISTEN on openrisk_cache (retrying): %s",
			 r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	*warned = 1;
	PQclear(r);
	PQfinish(c);
	return NULL;
}

/* Sleep up to ms, or until events_stop() writes to the wake pipe (then 1). */
static int wait_readable(int fd, int64_t ms)
{
	struct pollfd p[2] = {{hub.wake[0], POLLIN, 0}, {fd, POLLIN, 0}};

	if (poll(p, fd >= 0 ? 2 : 1, (int)ms) > 0 && (p[0].revents & POLLIN))
		return 1;
	return 0;
}

static int stopping(void)
{
	int s;

	pthread_mutex_lock(&hub.mu);
	s = hub.stopping;
	pthread_mutex_unlock(&hub.mu);
	return s;
}

static void *listen_main(void *arg)
{
	PGconn *c = NULL;
	int64_t backoff_ms = 100;
	int ever = 0, warned = 0;

	(void)arg;
	while (!stopping()) {
		PGnotify *n;

		if (!c) {
			if (!(c = listen_connect(&warned))) {
				wait_readable(-1, backoff_ms);
				backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
				continue;
			}
			if (ever) /* what was sent while we were away is lost */
				publish("", "event: resync\ndata: {\"reason\":\"notifications_lost\"}\n\n");
			if (warned)
				log_info("events: listening on openrisk_cache again");
			ever = 1;
			warned = 0;
			backoff_ms = 100;
		}
		if (wait_readable(PQsocket(c), 1000))
			continue;
		if (!PQconsumeInput(c)) {
			log_warn("events: the LISTEN connection failed: %s", PQerrorMessage(c));
			PQfinish(c);
			c = NULL;
			continue;
		}
		while ((n = PQnotifies(c)) != NULL) {
			on_notification(n->extra);
			PQfreemem(n);
		}
	}
	PQfinish(c);
	return NULL;
}

int events_start(struct gateway *gw)
{
	pthread_condattr_t attr;

	hub.gw = gw;
	if (getrandom(&hub.epoch, sizeof hub.epoch, 0) != sizeof hub.epoch)
		hub.epoch = (unsigned int)time(NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&hub.cv, &attr);
	pthread_condattr_destroy(&attr);
	if (pipe(hub.wake) < 0 || pthread_create(&hub.thread, NULL, listen_main, NULL) != 0) {
		log_error("events: cannot start the LISTEN thread: %s", strerror(errno));
		return -1;
	}
	hub.started = 1;
	return 0;
}

void events_stop(void)
{
	if (!hub.started)
		return;
	pthread_mutex_lock(&hub.mu);
	hub.stopping = 1;
	pthread_cond_broadcast(&hub.cv);
	pthread_mutex_unlock(&hub.mu);
	if (write(hub.wake[1], "x", 1) < 0)
		log_warn("events: cannot wake the LISTEN thread: %s", strerror(errno));
	pthread_join(hub.thread, NULL);
	hub.started = 0;
}

int events_open_streams(void)
{
	return atomic_load(&hub.streams);
}

/* "<8 hex>-<digits>" of this gateway: its sequence; else -1. */
static int64_t parse_event_id(const char *id)
{
	char *end;
	unsigned long epoch;
	unsigned long long seq;

	if (!id || strlen(id) < 10 || id[8] != '-' || strspn(id, "0123456789abcdef") != 8 ||
	    strspn(id + 9, "0123456789") != strlen(id + 9) || strlen(id + 9) > 18)
		return -1;
	epoch = strtoul(id, &end, 16);
	seq = strtoull(id + 9, NULL, 10);
	return epoch == hub.epoch ? (int64_t)seq : -1;
}

/*
 * Where a new stream starts: after the events its Last-Event-ID saw when
 * they are all still here (they are replayed), else now -- with *resync
 * set to why the client must refetch (unset: nothing was missed).
 */
static uint64_t start_position(const char *last_event_id, const char **resync)
{
	int64_t seen = parse_event_id(last_event_id);
	uint64_t pos;

	*resync = NULL;
	pthread_mutex_lock(&hub.mu);
	pos = hub.next_seq - 1;
	if (last_event_id && (seen < 0 || (uint64_t)seen > pos))
		*resync = "unknown_last_event_id"; /* another gateway's, or before a restart */
	else if (last_event_id && (uint64_t)seen + 1 < oldest_seq())
		*resync = "missed_events";
	else if (last_event_id)
		pos = (uint64_t)seen;
	pthread_mutex_unlock(&hub.mu);
	return pos;
}

/*
 * Wait until an event after *pos exists, the deadline passes or the hub
 * stops; then copy the events of tenant (and everyone's) into out, with
 * their ids, advancing *pos past what was looked at.  Returns the bytes
 * copied; *ended when the stream must end.
 */
static size_t collect(uint64_t *pos, const char *tenant, const struct timespec *deadline, char *out, size_t cap,
		      int *ended)
{
	size_t len = 0;

	pthread_mutex_lock(&hub.mu);
	while (!hub.stopping && !atomic_load(&hub.gw->draining) && hub.next_seq - 1 == *pos)
		if (pthread_cond_timedwait(&hub.cv, &hub.mu, deadline) == ETIMEDOUT)
			break;
	*ended = hub.stopping || atomic_load(&hub.gw->draining);
	if (*pos + 1 < oldest_seq()) { /* this client fell a whole ring behind */
		*pos = hub.next_seq - 1;
		len = (size_t)snprintf(out, cap, "id: %08x-%llu\nevent: resync\ndata: {\"reason\":\"missed_events\"}\n\n",
				       hub.epoch, (unsigned long long)*pos);
	}
	for (; *pos + 1 < hub.next_seq; (*pos)++) {
		const struct ring_event *ev = &hub.ring[(*pos + 1) % RING];
		size_t need = strlen(ev->text) + 48;

		if (ev->tenant[0] && strcmp(ev->tenant, tenant) != 0)
			continue;
		if (len + need > cap)
			break; /* the rest next time round */
		len += (size_t)snprintf(out + len, cap - len, "id: %08x-%llu\n%s", hub.epoch, (unsigned long long)ev->seq,
					ev->text);
	}
	pthread_mutex_unlock(&hub.mu);
	return len;
}

/* Is the monotonic clock still before t? */
static int before(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec < t->tv_nsec);
}

/* The stream itself, once admitted: headers, ready, then events and heartbeats. */
static void stream(struct request *req, const char *tenant)
{
	const int64_t heartbeat_ms = hub.gw->cfg->event_heartbeat_ms;
	char headers[sizeof req->headers + 256], *buf = malloc(STREAM_BUF); /* grows with what every reply carries */
	const char *resync;
	uint64_t pos = start_position(mg_get_header(req->conn, "Last-Event-ID"), &resync);
	struct http_stream s;
	size_t len = 0;
	int ended = 0;

	snprintf(headers, sizeof headers, "%sCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n", req->headers);
	if (!buf || http_stream_begin(&s, req->conn, "text/event-stream; charset=utf-8", headers) < 0) {
		free(buf);
		return;
	}
	if (resync)
		len = (size_t)snprintf(buf, STREAM_BUF, "event: resync\ndata: {\"reason\":\"%s\"}\n\n", resync);
	len += (size_t)snprintf(buf + len, STREAM_BUF - len,
				"retry: %d\nid: %08x-%llu\nevent: ready\ndata: {\"heartbeat_ms\":%lld}\n\n", RETRY_MS,
				hub.epoch, (unsigned long long)pos, (long long)heartbeat_ms);
	while (http_stream_write(&s, buf, len) == 0 && !ended) {
		struct timespec deadline = time_after_ms(CLOCK_MONOTONIC, heartbeat_ms);

		len = 0;
		while (!ended && len == 0 && before(&deadline))
			len = collect(&pos, tenant, &deadline, buf, STREAM_BUF, &ended);
		if (len == 0 && !ended)
			len = (size_t)snprintf(buf, STREAM_BUF, ": heartbeat\n\n");
	}
	if (!s.failed)
		http_stream_end(&s);
	free(buf);
}

int events_serve(struct request *req, const struct jwt_claims *claims)
{
	if (!hub.started)
		return request_fail(req, 503, "unavailable", "event streams are not available", "Retry-After: 5\r\n");
	if (atomic_fetch_add(&hub.streams, 1) >= hub.gw->cfg->max_event_streams) {
		atomic_fetch_sub(&hub.streams, 1);
		return request_fail(req, 503, "too_many_streams", "too many event streams are open; retry later",
				    "Retry-After: 5\r\n");
	}
	stream(req, claims->tenant);
	atomic_fetch_sub(&hub.streams, 1);
	return request_finish(req, 200);
}
