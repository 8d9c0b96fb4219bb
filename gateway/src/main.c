/*
 * main.c -- openrisk-gateway: start-up, the token helper, and shutdown.
 *
 * Start-up order: settings, pool (+ one warm-up connection, not fatal when
 * PostgreSQL is still starting), the replicas' pools and health threads
 * (upstream.c; nothing without --replicas), pg_stat poller, then the two
 * civetweb listeners.  Signals are blocked in every thread and taken by sigwait()
 * in main, so SIGTERM handling is ordinary code instead of an async
 * signal handler.  Shutdown (a graceful pool close): new requests get 503
 * with Connection: close (and /ready 503), in-flight requests finish
 * (bounded by the drain timeout) -- before mg_stop(), which refuses every
 * write once it has begun -- then civetweb stops, the pool closes and the
 * process exits 0.
 */
#include <civetweb.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
#include "config.h"
#include "events.h"
#include "gateway.h"
#include "listener.h"
#include "log.h"
#include "metrics_listener.h"
#include "pipeline.h"
#include "pool.h"
#include "router.h"
#include "statements.h"
#include "stats_poller.h"
#include "timeutil.h"
#include "upstream.h"

#define GATEWAY_VERSION "1.0"

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

/* `openrisk-gateway token --role R --tenant T [--sub S] [--ttl D]` */
static int token_main(int argc, char **argv)
{
	struct gw_config cfg;
	const char *role = NULL, *tenant = NULL, *sub = "dev";
	int64_t ttl_ms = 24 * 3600 * 1000LL;
	char err[512], token[2048];
	int help = 0, n;
	enum role r;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--role") == 0 && v)
			role = argv[++i];
		else if (strcmp(a, "--tenant") == 0 && v)
			tenant = argv[++i];
		else if (strcmp(a, "--sub") == 0 && v)
			sub = argv[++i];
		else if (strcmp(a, "--ttl") == 0 && v) {
			ttl_ms = config_parse_duration_ms(argv[++i]);
			if (ttl_ms <= 0) {
				fprintf(stderr, "error: --ttl must be a duration like 1h or 30m\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: %s token --role viewer|analyst|admin --tenant <uuid> [--sub S] [--ttl 24h]\n",
				argv[0]);
			return 2;
		}
	}
	r = role_parse(role);
	if (r == ROLE_NONE) {
		fprintf(stderr, "error: --role must be viewer, analyst or admin\n");
		return 2;
	}
	if (!uuid_is_valid(tenant)) {
		fprintf(stderr, "error: --tenant must be a uuid\n");
		return 2;
	}
	config_defaults(&cfg);
	if (config_load(&cfg, env_lookup, 0, NULL, 0, &help, err, sizeof err) < 0 ||
	    config_read_secret_file(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 2;
	}
	if (!cfg.jwt_secret[0]) {
		fprintf(stderr, "error: no JWT secret: set OPENRISK_JWT_SECRET_FILE or OPENRISK_JWT_SECRET\n");
		return 2;
	}
	n = jwt_mint(cfg.jwt_secret, strlen(cfg.jwt_secret), sub, r, tenant, (long long)time(NULL) + ttl_ms / 1000,
		     token, sizeof token);
	if (n < 0) {
		fprintf(stderr, "error: could not mint a token\n");
		return 1;
	}
	printf("%s\n", token);
	return 0;
}

struct stopper {
	struct mg_context *ctx;
	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	int done;
};

static void *stop_thread(void *arg)
{
	struct stopper *s = arg;

	mg_stop(s->ctx);
	pthread_mutex_lock(&s->mu);
	s->done = 1;
	pthread_cond_signal(&s->done_cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* mg_stop waits for in-flight requests; give it at most timeout_ms. */
static int stop_bounded(struct mg_context *ctx, int64_t timeout_ms)
{
	static struct stopper s = {.mu = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};
	struct timespec ts;
	pthread_t t;
	int done;

	s.ctx = ctx;
	s.done = 0;
	if (pthread_create(&t, NULL, stop_thread, &s) != 0)
		return -1;
	pthread_detach(t);
	ts = time_after_ms(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&s.mu);
	while (!s.done && pthread_cond_timedwait(&s.done_cv, &s.mu, &ts) != ETIMEDOUT)
		;
	done = s.done;
	pthread_mutex_unlock(&s.mu);
	return done ? 0 : -1;
}

/* Wait until no request is between begin and reply; -1 on timeout. */
static int wait_for_inflight(struct gateway *gw, int64_t timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct timespec tick = {0, 10 * 1000000};

	while (atomic_load(&gw->inflight) > 0) {
		if (mono_ms() >= deadline)
			return -1;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* `openrisk-gateway sql GET /api/v1/stats`: the statement a route prepares. */
static int sql_main(int argc, char **argv)
{
	const struct statement *st;
	struct route_match m;

	if (argc != 4) {
		fprintf(stderr, "usage: %s sql METHOD PATH\n", argv[0]);
		return 2;
	}
	router_match(argv[2], argv[3], &m);
	st = m.status == MATCH_OK ? statement_get(m.route->stmt) : NULL;
	if (!st) {
		fprintf(stderr, "error: no statement for %s %s\n", argv[2], argv[3]);
		return 1;
	}
	printf("%s\n", st->sql);
	return 0;
}

int main(int argc, char **argv)
{
	static struct gw_config cfg;
	static struct gateway gw;
	struct mg_context *api, *metrics;
	char err[512];
	int help = 0, sig;
	sigset_t sigs;

	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return token_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "sql") == 0)
		return sql_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("openrisk-gateway %s (civetweb %s, libpq %d)\n", GATEWAY_VERSION, mg_version(), PQlibVersion());
		return 0;
	}
	config_defaults(&cfg);
	if (config_load(&cfg, env_lookup, argc, argv, 1, &help, err, sizeof err) < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 2;
	}
	if (help) {
		config_print_help(argv[0], stdout);
		return 0;
	}
	if (config_read_secret_file(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 2;
	}
	if (strlen(cfg.jwt_secret) < 16) {
		fprintf(stderr, "error: the JWT secret must be at least 16 characters "
				"(set OPENRISK_JWT_SECRET_FILE or OPENRISK_JWT_SECRET)\n");
		return 2;
	}
	log_init(cfg.log_level, cfg.access_log);

	/* every thread created from here on inherits the blocked signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_start_writer() < 0)
		log_warn("no background log writer; writing log lines directly");
	atexit(log_stop_writer); /* early error exits flush their lines too */

	gw.cfg = &cfg;
	gw.pool = pool_create(&cfg, statements, STMT_COUNT);
	if (!gw.pool) {
		fprintf(stderr, "error: out of memory creating the pool\n");
		return 1;
	}
	if (pool_warm(gw.pool) < 0)
		log_warn("PostgreSQL is not reachable yet; requests get 503 until it is");
	gw.ups = upstreams_create(&cfg, gw.pool, err, sizeof err);
	if (!gw.ups) {
		fprintf(stderr, "error: %s\n", err);
		return 2;
	}
	if (upstreams_start(gw.ups) < 0) {
		fprintf(stderr, "error: cannot start the replicas' health threads\n");
		return 1;
	}
	stats_poller_start(gw.pool, cfg.stats_interval_ms);

	if (events_start(&gw) < 0)
		log_warn("no event streams: GET /api/v1/events answers 503");
	pipeline_init(&gw);
	metrics_listener_init(&gw);
	/* streams and exports hold a thread each for as long as they run: theirs come on top */
	api = listener_start(cfg.listen, cfg.threads + cfg.max_event_streams + cfg.max_exports, cfg.keep_alive_ms,
			     pipeline_begin_request, &gw);
	if (!api) {
		log_error("cannot listen on %s (in use, or not host:port?)", cfg.listen);
		return 1;
	}
	metrics = listener_start(cfg.metrics_listen, 2, cfg.keep_alive_ms, metrics_begin_request, &gw);
	if (!metrics) {
		log_error("cannot listen on %s for /metrics", cfg.metrics_listen);
		mg_stop(api);
		return 1;
	}
	log_info("openrisk-gateway %s listening on http://%s (metrics http://%s/metrics), pool %s: %d open / %d idle, "
		 "%d threads + %d for event streams + %d for exports",
		 GATEWAY_VERSION, cfg.listen, cfg.metrics_listen, config_pool_mode_name(cfg.pool_mode), cfg.pool_max_open,
		 cfg.pool_max_idle, cfg.threads, cfg.max_event_streams, cfg.max_exports);

	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	log_info("received %s: draining in-flight requests (at most %lld ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		 (long long)cfg.drain_timeout_ms);
	atomic_store(&gw.draining, 1);
	events_stop(); /* streams end now: they would hold the drain to its timeout */
	if (wait_for_inflight(&gw, cfg.drain_timeout_ms) < 0)
		log_warn("drain timeout reached; stopping with %d requests still running", atomic_load(&gw.inflight));
	if (stop_bounded(api, 3000) < 0)
		log_warn("civetweb did not stop in time; exiting anyway");
	stop_bounded(metrics, 2000);
	stats_poller_stop();
	upstreams_stop(gw.ups, 1000);
	pool_close(gw.pool, 1000);
	log_info("stopped");
	log_stop_writer();
	return 0;
}
