/*
 * config.h -- the gateway's settings: one struct, filled from defaults,
 * then OPENRISK_* environment variables, then command-line flags.
 *
 * Kept free of civetweb and libpq so it can be unit-tested and fuzzed on
 * its own: parsing operator input is where most "it silently used the
 * default" bugs live.
 */
#ifndef OPENRISK_CONFIG_H
#define OPENRISK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cors.h"
#include "replica_list.h"

enum pool_mode {
	POOL_MODE_DEVELOPMENT,
	POOL_MODE_STAGING,
	POOL_MODE_PRODUCTION
};

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

struct gw_config {
	char listen[128];         /* host:port of the API listener */
	char metrics_listen[128]; /* host:port of the /metrics listener */
	int threads;              /* civetweb worker threads (API listener) */
	int64_t keep_alive_ms;    /* idle keep-alive connection timeout */
	char dsn[1024];           /* libpq connection string */
	enum pool_mode pool_mode;
	int pool_max_open;
	int pool_max_idle;
	int64_t pool_max_lifetime_ms;
	int64_t pool_max_idle_time_ms;
	int64_t pool_acquire_timeout_ms;
	char jwt_secret[512];
	char jwt_secret_file[1024];
	size_t max_body_bytes;
	enum log_level log_level;
	int access_log;             /* 1: one line per request on stderr */
	int64_t stats_interval_ms;  /* pg_stat poll period */
	int64_t drain_timeout_ms;   /* SIGTERM: how long in-flight requests get */
	int max_event_streams;      /* GET /api/v1/events open at once (503 beyond) */
	int64_t event_heartbeat_ms; /* comment line on an idle event stream */
	int max_exports;            /* CSV exports running at once (503 beyond) */
	char cors_origins[2200];    /* "https://a.example, https://b.example", "*" or "" */
	int cors_credentials;       /* 1: Access-Control-Allow-Credentials: true */
	int64_t cors_max_age_ms;    /* preflight cache (Access-Control-Max-Age) */
	struct cors_policy cors;    /* parsed from the three above by config_load */
	/* hot standbys for reads (docs/SCALING.md): the list as given, and parsed */
	char replica_dsns[REPLICAS_MAX * REPLICA_DSN_MAX];
	struct replica_list replicas;
	int64_t max_replica_lag_ms; /* replicas lagging more get no reads */
	int64_t replica_wait_ms;    /* a read's X-Min-LSN: how long a replica may take to replay it */
	int64_t health_interval_ms; /* how often every server is checked */
	char config_file[1024];     /* --config: name = value lines, below the environment */
};

/* Fill *cfg with the built-in defaults (development pool mode). */
void config_defaults(struct gw_config *cfg);

/*
 * Apply the environment (via getenv_fn, so tests can inject one) and then
 * argv[first..argc).  Returns 0, or -1 with a sentence in err.  Sets
 * *want_help when --help was given.
 */
typedef const char *(*config_getenv_fn)(const char *name);
int config_load(struct gw_config *cfg, config_getenv_fn getenv_fn, int argc,
		char *const argv[], int first, int *want_help, char *err,
		size_t errlen);

/*
 * Set one option by its flag name from source (for messages); the --config
 * file's lines go through here (config_file.c).  0 or -1 with err.
 */
int config_set(struct gw_config *cfg, const char *flag, const char *value, const char *source, char *err,
	       size_t errlen);

/* Is flag the pool mode's? (A file applies it before the other lines.) */
int config_is_pool_mode(const char *flag);

/* Read the JWT secret from cfg->jwt_secret_file when it is set. */
int config_read_secret_file(struct gw_config *cfg, char *err, size_t errlen);

/* Print every option with its environment variable and default. */
void config_print_help(const char *progname, void *stream);

/* Parse "500ms", "5s", "10m", "1h" or plain seconds; -1 when invalid. */
int64_t config_parse_duration_ms(const char *text);

/* Apply the preset numbers of a pool mode (open/idle/lifetime/idle time). */
void config_apply_pool_mode(struct gw_config *cfg, enum pool_mode mode);

const char *config_pool_mode_name(enum pool_mode mode);

#endif
