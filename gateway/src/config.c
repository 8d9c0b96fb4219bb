/*
 * config.c -- settings from defaults, OPENRISK_* environment, and flags.
 *
 * One table describes every option: its flag, its environment variable,
 * its type, its default and its help line.  Defaults are applied by parsing
 * the table's default text with the same code that parses user input, so
 * `--help` can never disagree with what the program actually does.
 *
 * Pool numbers come from the pool mode first (OpenRisk's original development /
 * staging / production presets); any pool field given explicitly, by
 * environment or flag, then overrides the preset.
 */
#include "config.h"

#include "config_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind {
	OPT_STRING,
	OPT_INT,
	OPT_DURATION,
	OPT_SIZE,
	OPT_BOOL,
	OPT_POOL_MODE,
	OPT_LOG_LEVEL
};

struct option_def {
	const char *flag; /* --flag */
	const char *env;  /* OPENRISK_... */
	enum opt_kind kind;
	size_t offset;
	size_t size; /* buffer size for OPT_STRING */
	long long min, max;
	const char *deflt; /* NULL: set by the pool mode */
	const char *help;
};

#define F(field) offsetof(struct gw_config, field), sizeof(((struct gw_config *)0)->field)

static const struct option_def options[] = {
	{"listen", "OPENRISK_LISTEN", OPT_STRING, F(listen), 0, 0, "127.0.0.1:8080",
	 "API listen address host:port (TLS belongs to a reverse proxy)"},
	{"metrics-listen", "OPENRISK_METRICS_LISTEN", OPT_STRING, F(metrics_listen), 0, 0,
	 "127.0.0.1:2112", "listen address of the separate /metrics listener"},
	{"threads", "OPENRISK_THREADS", OPT_INT, F(threads), 2, 1024, "64",
	 "worker threads; keep above the expected keep-alive clients"},
	{"keep-alive", "OPENRISK_KEEP_ALIVE", OPT_DURATION, F(keep_alive_ms), 0, 600000, "2s",
	 "idle keep-alive timeout (short, so idle clients free their thread)"},
	{"dsn", "OPENRISK_DSN", OPT_STRING, F(dsn), 0, 0, "dbname=openrisk",
	 "libpq connection string"},
	{"pool-mode", "OPENRISK_POOL_MODE", OPT_POOL_MODE, F(pool_mode), 0, 0, "development",
	 "development | staging | production (sets the pool numbers below)"},
	{"pool-max-open", "OPENRISK_POOL_MAX_OPEN", OPT_INT, F(pool_max_open), 1, 1000, NULL,
	 "most connections open (mode: 10 / 50 / 100)"},
	{"pool-max-idle", "OPENRISK_POOL_MAX_IDLE", OPT_INT, F(pool_max_idle), 0, 1000, NULL,
	 "most connections kept open while idle (mode: 2 / 10 / 25)"},
	{"pool-max-lifetime", "OPENRISK_POOL_MAX_LIFETIME", OPT_DURATION, F(pool_max_lifetime_ms), 1000,
	 86400000LL * 30, NULL, "connection lifetime (mode: 10m / 30m / 1h)"},
	{"pool-max-idle-time", "OPENRISK_POOL_MAX_IDLE_TIME", OPT_DURATION, F(pool_max_idle_time_ms), 1000,
	 86400000LL * 30, NULL, "close connections idle this long (mode: 2m / 5m / 10m)"},
	{"pool-acquire-timeout", "OPENRISK_POOL_ACQUIRE_TIMEOUT", OPT_DURATION, F(pool_acquire_timeout_ms),
	 1, 600000, "5s", "wait this long for a connection, then 503 + Retry-After"},
	{"jwt-secret", "OPENRISK_JWT_SECRET", OPT_STRING, F(jwt_secret), 0, 0, "",
	 "HS256 secret (prefer --jwt-secret-file)"},
	{"jwt-secret-file", "OPENRISK_JWT_SECRET_FILE", OPT_STRING, F(jwt_secret_file), 0, 0, "",
	 "file holding the HS256 secret"},
	{"max-body", "OPENRISK_MAX_BODY", OPT_SIZE, F(max_body_bytes), 1, 64LL << 20, "1MB",
	 "request body limit (413 above it)"},
	{"log-level", "OPENRISK_LOG_LEVEL", OPT_LOG_LEVEL, F(log_level), 0, 0, "info",
	 "error | warn | info | debug"},
	{"access-log", "OPENRISK_ACCESS_LOG", OPT_BOOL, F(access_log), 0, 0, "on",
	 "one stderr line per request (on | off)"},
	{"stats-interval", "OPENRISK_STATS_INTERVAL", OPT_DURATION, F(stats_interval_ms), 1000,
	 3600000, "15s", "how often pg_stat figures are read for /metrics"},
	{"drain-timeout", "OPENRISK_DRAIN_TIMEOUT", OPT_DURATION, F(drain_timeout_ms), 0, 600000, "10s",
	 "SIGTERM: time given to in-flight requests"},
	{"max-event-streams", "OPENRISK_MAX_EVENT_STREAMS", OPT_INT, F(max_event_streams), 0, 10000, "100",
	 "GET /api/v1/events streams open at once (503 beyond); their threads come on top of --threads"},
	{"event-heartbeat", "OPENRISK_EVENT_HEARTBEAT", OPT_DURATION, F(event_heartbeat_ms), 100, 600000, "15s",
	 "a comment line on an idle event stream: keeps proxies from closing it, finds clients gone"},
	{"max-exports", "OPENRISK_MAX_EXPORTS", OPT_INT, F(max_exports), 0, 1000, "4",
	 "CSV exports running at once (503 beyond); their threads come on top of --threads"},
	{"cors-origins", "OPENRISK_CORS_ORIGINS", OPT_STRING, F(cors_origins), 0, 0, "",
	 "browser origins allowed by CORS, comma-separated, or * (default: none)"},
	{"cors-credentials", "OPENRISK_CORS_CREDENTIALS", OPT_BOOL, F(cors_credentials), 0, 0, "off",
	 "send Access-Control-Allow-Credentials: true to allowed origins (not with *)"},
	{"cors-max-age", "OPENRISK_CORS_MAX_AGE", OPT_DURATION, F(cors_max_age_ms), 0, 86400000, "10m",
	 "how long a browser may cache a preflight answer"},
	/* read routing to hot standbys (routing.c, docs/SCALING.md) */
	{"replicas", "OPENRISK_REPLICA_DSNS", OPT_STRING, F(replica_dsns), 0, 0, "",
	 "hot standbys for reads: libpq URIs separated by blanks, or one key=value string per line"},
	{"max-replica-lag", "OPENRISK_MAX_REPLICA_LAG", OPT_DURATION, F(max_replica_lag_ms), 10, 600000, "1s",
	 "a replica whose data may be older than this gets no reads"},
	{"replica-wait", "OPENRISK_REPLICA_WAIT", OPT_DURATION, F(replica_wait_ms), 0, 10000, "500ms",
	 "a read with X-Min-LSN waits this long for a replica to replay it, then the primary answers"},
	{"health-interval", "OPENRISK_HEALTH_INTERVAL", OPT_DURATION, F(health_interval_ms), 50, 10000, "200ms",
	 "how often the primary and every replica are checked (replay position, lag)"},
	{"config", "OPENRISK_CONFIG", OPT_STRING, F(config_file), 0, 0, "",
	 "file of name = value lines (replica = <DSN> adds one); the environment and flags override it"},
};

#define NOPTIONS (sizeof options / sizeof options[0])

static const char *const pool_mode_names[] = {"development", "staging", "production"};
static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

const char *config_pool_mode_name(enum pool_mode mode)
{
	return pool_mode_names[mode];
}

/* The original OpenRisk service's pool presets, per mode. */
void config_apply_pool_mode(struct gw_config *cfg, enum pool_mode mode)
{
	static const struct {
		int open, idle;
		int64_t lifetime_ms, idle_ms;
	} presets[] = {
		{10, 2, 10 * 60000LL, 2 * 60000LL},
		{50, 10, 30 * 60000LL, 5 * 60000LL},
		{100, 25, 60 * 60000LL, 10 * 60000LL},
	};
	cfg->pool_mode = mode;
	cfg->pool_max_open = presets[mode].open;
	cfg->pool_max_idle = presets[mode].idle;
	cfg->pool_max_lifetime_ms = presets[mode].lifetime_ms;
	cfg->pool_max_idle_time_ms = presets[mode].idle_ms;
}

int64_t config_parse_duration_ms(const char *text)
{
	char *end;
	double v;
	double mult = 1000.0;

	if (!text || !*text || isspace((unsigned char)*text) || *text == '-')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000.0;
	else if (strcmp(end, "ms") == 0)
		mult = 1.0;
	else if (strcmp(end, "m") == 0)
		mult = 60000.0;
	else if (strcmp(end, "h") == 0)
		mult = 3600000.0;
	else
		return -1;
	v *= mult;
	/* written so that NaN ("nan" parses) fails too: casting it is undefined */
	if (!(v >= 0 && v <= 1e15))
		return -1;
	return (int64_t)v;
}

/* "1048576", "64kB", "1MB": bytes, or -1. */
static long long parse_size(const char *text)
{
	char *end;
	long long v;

	if (!text || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno)
		return -1;
	if (*end == '\0' || strcasecmp(end, "b") == 0)
		return v;
	if (strcasecmp(end, "kb") == 0 || strcasecmp(end, "k") == 0)
		return v << 10;
	if (strcasecmp(end, "mb") == 0 || strcasecmp(end, "m") == 0)
		return v << 20;
	return -1;
}

static int parse_name(const char *text, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(text, names[i]) == 0)
			return i;
	return -1;
}

/*
 * Parse text into the option's field.  Every rejection names the option
 * the way the user wrote it (flag or environment variable).
 */
static int set_option(struct gw_config *cfg, const struct option_def *o, const char *text,
		      const char *source, char *err, size_t errlen)
{
	char *field = (char *)cfg + o->offset;
	long long v;
	char *end;
	int i;

	switch (o->kind) {
	case OPT_STRING:
		if (strlen(text) >= o->size) {
			snprintf(err, errlen, "%s is too long (at most %zu characters)", source, o->size - 1);
			return -1;
		}
		strcpy(field, text);
		return 0;
	case OPT_INT:
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || *end || v < o->min || v > o->max) {
			snprintf(err, errlen, "%s must be an integer between %lld and %lld, not \"%s\"",
				 source, o->min, o->max, text);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	case OPT_DURATION:
		v = config_parse_duration_ms(text);
		if (v < o->min || v > o->max) {
			snprintf(err, errlen,
				 "%s must be a duration like 500ms, 5s, 10m or 1h between %lldms and %lldms, not \"%s\"",
				 source, o->min, o->max, text);
			return -1;
		}
		*(int64_t *)field = v;
		return 0;
	case OPT_SIZE:
		v = parse_size(text);
		if (v < o->min || v > o->max) {
			snprintf(err, errlen, "%s must be a size like 65536, 64kB or 1MB up to %lld bytes, not \"%s\"",
				 source, o->max, text);
			return -1;
		}
		*(size_t *)field = (size_t)v;
		return 0;
	case OPT_BOOL:
		if (strcasecmp(text, "on") == 0 || strcasecmp(text, "true") == 0 ||
		    strcmp(text, "1") == 0 || strcasecmp(text, "yes") == 0)
			*(int *)field = 1;
		else if (strcasecmp(text, "off") == 0 || strcasecmp(text, "false") == 0 ||
			 strcmp(text, "0") == 0 || strcasecmp(text, "no") == 0)
			*(int *)field = 0;
		else {
			snprintf(err, errlen, "%s must be on or off, not \"%s\"", source, text);
			return -1;
		}
		return 0;
	case OPT_POOL_MODE:
		i = parse_name(text, pool_mode_names, 3);
		if (i < 0) {
			snprintf(err, errlen, "%s must be development, staging or production, not \"%s\"",
				 source, text);
			return -1;
		}
		config_apply_pool_mode(cfg, (enum pool_mode)i);
		return 0;
	case OPT_LOG_LEVEL:
		i = parse_name(text, log_level_names, 4);
		if (i < 0) {
			snprintf(err, errlen, "%s must be error, warn, info or debug, not \"%s\"", source, text);
			return -1;
		}
		*(enum log_level *)field = (enum log_level)i;
		return 0;
	}
	return -1;
}

void config_defaults(struct gw_config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].deflt)
			(void)set_option(cfg, &options[i], options[i].deflt, options[i].flag, err, sizeof err);
	(void)cors_parse(cfg->cors_origins, cfg->cors_credentials, (int)(cfg->cors_max_age_ms / 1000), &cfg->cors,
			 err, sizeof err);
}

static const struct option_def *find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].flag) == len && strncmp(options[i].flag, name, len) == 0)
			return &options[i];
	return NULL;
}

/*
 * Apply options whose kind is (or is not, when want_mode is 0) the pool
 * mode: the mode must go first so explicit pool fields can override it.
 */
static int apply_pass(struct gw_config *cfg, config_getenv_fn getenv_fn, int argc,
		      char *const argv[], int first, int want_mode, int *want_help, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const char *v;
		if ((options[i].kind == OPT_POOL_MODE) != want_mode)
			continue;
		v = getenv_fn ? getenv_fn(options[i].env) : NULL;
		if (v && set_option(cfg, &options[i], v, options[i].env, err, errlen) < 0)
			return -1;
	}
	for (int a = first; a < argc; a++) {
		const char *arg = argv[a], *name, *eq, *value;
		const struct option_def *o;
		char source[80];
		size_t len;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			*want_help = 1;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
			return -1;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_flag(name, len);
		if (!o) {
			snprintf(err, errlen, "unknown option --%.*s (see --help)", (int)len, name);
			return -1;
		}
		if (eq)
			value = eq + 1;
		else if (a + 1 < argc)
			value = argv[++a];
		else {
			snprintf(err, errlen, "option --%s needs a value", o->flag);
			return -1;
		}
		if ((o->kind == OPT_POOL_MODE) != want_mode)
			continue;
		snprintf(source, sizeof source, "--%s", o->flag);
		if (set_option(cfg, o, value, source, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int config_set(struct gw_config *cfg, const char *flag, const char *value, const char *source, char *err,
	       size_t errlen)
{
	const struct option_def *o = find_flag(flag, strlen(flag));

	if (!o) {
		snprintf(err, errlen, "%s is not an option (see --help)", source);
		return -1;
	}
	return set_option(cfg, o, value, source, err, errlen);
}

int config_is_pool_mode(const char *flag)
{
	const struct option_def *o = find_flag(flag, strlen(flag));

	return o && o->kind == OPT_POOL_MODE;
}

/* `replica = <DSN>`: one more line of the replica list. */
static int add_replica(struct gw_config *cfg, const char *dsn, const char *source, char *err, size_t errlen)
{
	size_t len = strlen(cfg->replica_dsns);

	if (len + strlen(dsn) + 2 > sizeof cfg->replica_dsns) {
		snprintf(err, errlen, "%s: the replica list is too long", source);
		return -1;
	}
	snprintf(cfg->replica_dsns + len, sizeof cfg->replica_dsns - len, "%s%s", len ? "\n" : "", dsn);
	return 0;
}

/*
 * One line of a --config file (config_file.c reads it twice): pass 0
 * applies the pool mode only, pass 1 the rest, so an explicit pool size in
 * the same file wins over the mode's preset, as with flags.
 */
static int file_line(void *ctx, const char *name, const char *value, const char *source, int pass, char *err,
		     size_t errlen)
{
	struct gw_config *cfg = ctx;
	char named[1200];

	if (config_is_pool_mode(name) != (pass == 0))
		return 0;
	if (strcmp(name, "config") == 0) {
		snprintf(err, errlen, "%s: a config file cannot name another one", source);
		return -1;
	}
	if (strcmp(name, "replica") == 0)
		return add_replica(cfg, value, source, err, errlen);
	snprintf(named, sizeof named, "%s: %s", source, name);
	return config_set(cfg, name, value, named, err, errlen);
}

/* The --config path, from the flags or else the environment: it is read first. */
static const char *config_path(config_getenv_fn getenv_fn, int argc, char *const argv[], int first)
{
	for (int a = argc - 1; a >= first; a--) {
		if (strncmp(argv[a], "--config=", 9) == 0)
			return argv[a] + 9;
		if (strcmp(argv[a], "--config") == 0 && a + 1 < argc)
			return argv[a + 1];
	}
	return getenv_fn ? getenv_fn("OPENRISK_CONFIG") : NULL;
}

int config_load(struct gw_config *cfg, config_getenv_fn getenv_fn, int argc, char *const argv[],
		int first, int *want_help, char *err, size_t errlen)
{
	const char *path = config_path(getenv_fn, argc, argv, first);
	char why[512];

	*want_help = 0;
	if (path && *path && config_file_read(path, file_line, cfg, err, errlen) < 0)
		return -1;
	if (apply_pass(cfg, getenv_fn, argc, argv, first, 1, want_help, err, errlen) < 0 ||
	    apply_pass(cfg, getenv_fn, argc, argv, first, 0, want_help, err, errlen) < 0)
		return -1;
	if (cfg->pool_max_idle > cfg->pool_max_open)
		cfg->pool_max_idle = cfg->pool_max_open;
	if (replica_list_parse(cfg->replica_dsns, &cfg->replicas, why, sizeof why) < 0) {
		snprintf(err, errlen, "replicas (OPENRISK_REPLICA_DSNS, --replicas or the --config file): %s", why);
		return -1;
	}
	return cors_parse(cfg->cors_origins, cfg->cors_credentials, (int)(cfg->cors_max_age_ms / 1000), &cfg->cors,
			  err, errlen);
}

int config_read_secret_file(struct gw_config *cfg, char *err, size_t errlen)
{
	FILE *f;
	size_t n;

	if (!cfg->jwt_secret_file[0])
		return 0;
	f = fopen(cfg->jwt_secret_file, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read JWT secret file %s: %s", cfg->jwt_secret_file,
			 strerror(errno));
		return -1;
	}
	n = fread(cfg->jwt_secret, 1, sizeof cfg->jwt_secret - 1, f);
	fclose(f);
	cfg->jwt_secret[n] = '\0';
	while (n > 0 && (cfg->jwt_secret[n - 1] == '\n' || cfg->jwt_secret[n - 1] == '\r'))
		cfg->jwt_secret[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "JWT secret file %s is empty", cfg->jwt_secret_file);
		return -1;
	}
	return 0;
}

void config_print_help(const char *progname, void *stream)
{
	FILE *out = stream;

	fprintf(out,
		"usage: %s [--option value | --option=value ...]\n"
		"       %s token --role viewer|analyst|admin --tenant <uuid> [--sub S] [--ttl 1h]\n"
		"       %s sql METHOD PATH   (print the statement a route runs)\n\n"
		"Every option can also be set by its environment variable; flags win.\n"
		"Pool fields left unset come from --pool-mode.\n\n",
		progname, progname, progname);
	for (size_t i = 0; i < NOPTIONS; i++)
		fprintf(out, "  --%-22s %-31s default %-16s %s\n", options[i].flag, options[i].env,
			options[i].deflt ? (*options[i].deflt ? options[i].deflt : "(none)") : "(pool mode)",
			options[i].help);
}
