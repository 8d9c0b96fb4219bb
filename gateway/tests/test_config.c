/*
 * test_config.c -- defaults, pool-mode presets with explicit overrides,
 * environment vs flags precedence, and clear errors for bad values.
 */
#include "config.h"
#include "unit.h"

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	for (const char *const *e = fake_env; e && *e; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static int load(struct gw_config *cfg, const char *const *env, int argc, char *const *argv, char *err)
{
	int help;
	fake_env = env;
	config_defaults(cfg);
	return config_load(cfg, fake_getenv, argc, argv, 0, &help, err, 256);
}

void test_config(void)
{
	struct gw_config cfg;
	char err[256];

	CHECK_INT(load(&cfg, NULL, 0, NULL, err), 0);
	CHECK_STR(cfg.listen, "127.0.0.1:8080");
	CHECK_STR(cfg.metrics_listen, "127.0.0.1:2112");
	CHECK_INT(cfg.pool_mode, POOL_MODE_DEVELOPMENT);
	CHECK_INT(cfg.pool_max_open, 10);
	CHECK_INT(cfg.pool_max_idle, 2);
	CHECK_INT(cfg.pool_max_lifetime_ms, 600000);
	CHECK_INT(cfg.pool_max_idle_time_ms, 120000);
	CHECK_INT(cfg.pool_acquire_timeout_ms, 5000);
	CHECK_INT(cfg.threads, 64);
	CHECK_INT(cfg.max_body_bytes, 1 << 20);
	CHECK_INT(cfg.access_log, 1);

	{
		const char *env[] = {"OPENRISK_POOL_MODE", "production", NULL};
		CHECK_INT(load(&cfg, env, 0, NULL, err), 0);
		CHECK_INT(cfg.pool_max_open, 100);
		CHECK_INT(cfg.pool_max_idle, 25);
		CHECK_INT(cfg.pool_max_lifetime_ms, 3600000);
		CHECK_INT(cfg.pool_max_idle_time_ms, 600000);
	}
	{
		/* explicit pool fields beat the mode, whatever the order given */
		const char *env[] = {"OPENRISK_POOL_MAX_OPEN", "7", NULL};
		char *argv[] = {"--pool-max-idle=3", "--pool-mode", "staging", "--pool-max-lifetime", "90s"};
		CHECK_INT(load(&cfg, env, 5, argv, err), 0);
		CHECK_INT(cfg.pool_mode, POOL_MODE_STAGING);
		CHECK_INT(cfg.pool_max_open, 7);
		CHECK_INT(cfg.pool_max_idle, 3);
		CHECK_INT(cfg.pool_max_lifetime_ms, 90000);
		CHECK_INT(cfg.pool_max_idle_time_ms, 300000);
	}
	{
		/* flags beat the environment */
		const char *env[] = {"OPENRISK_LISTEN", "127.0.0.1:1", "OPENRISK_ACCESS_LOG", "off", NULL};
		char *argv[] = {"--listen", "127.0.0.1:2"};
		CHECK_INT(load(&cfg, env, 2, argv, err), 0);
		CHECK_STR(cfg.listen, "127.0.0.1:2");
		CHECK_INT(cfg.access_log, 0);
	}
	{
		/* idle is clamped to open */
		char *argv[] = {"--pool-max-open=2", "--pool-max-idle=5"};
		CHECK_INT(load(&cfg, NULL, 2, argv, err), 0);
		CHECK_INT(cfg.pool_max_idle, 2);
	}
	{
		char *bad1[] = {"--threads=0"};
		char *bad2[] = {"--pool-mode=turbo"};
		char *bad3[] = {"--nope=1"};
		char *bad4[] = {"--pool-acquire-timeout=5 s"};
		char *bad5[] = {"--max-body=lots"};
		char *bad6[] = {"--threads"};
		char *bad7[] = {"stray"};
		const char *bad_env[] = {"OPENRISK_LOG_LEVEL", "loud", NULL};

		CHECK_INT(load(&cfg, NULL, 1, bad1, err), -1);
		CHECK(strstr(err, "--threads") != NULL);
		CHECK_INT(load(&cfg, NULL, 1, bad2, err), -1);
		CHECK(strstr(err, "development, staging or production") != NULL);
		CHECK_INT(load(&cfg, NULL, 1, bad3, err), -1);
		CHECK(strstr(err, "unknown option --nope") != NULL);
		CHECK_INT(load(&cfg, NULL, 1, bad4, err), -1);
		CHECK_INT(load(&cfg, NULL, 1, bad5, err), -1);
		CHECK_INT(load(&cfg, NULL, 1, bad6, err), -1);
		CHECK(strstr(err, "needs a value") != NULL);
		CHECK_INT(load(&cfg, NULL, 1, bad7, err), -1);
		CHECK_INT(load(&cfg, bad_env, 0, NULL, err), -1);
		CHECK(strstr(err, "OPENRISK_LOG_LEVEL") != NULL);
	}
	CHECK_INT(config_parse_duration_ms("250ms"), 250);
	CHECK_INT(config_parse_duration_ms("2"), 2000);
	CHECK_INT(config_parse_duration_ms("1.5s"), 1500);
	CHECK_INT(config_parse_duration_ms("10m"), 600000);
	CHECK_INT(config_parse_duration_ms("1h"), 3600000);
	CHECK_INT(config_parse_duration_ms("-1s"), -1);
	CHECK_INT(config_parse_duration_ms("5d"), -1);
	CHECK_INT(config_parse_duration_ms(""), -1);
}
