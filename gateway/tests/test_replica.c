/*
 * test_replica.c -- the pure parts of read routing to hot standbys: LSN
 * text, the replica list (both spellings, the mistakes it refuses,
 * passwords masked), the --config file, the lag ring, the routing state
 * machine on a fake clock, and the upstream metrics text.
 *
 * The state machine is where a wrong comparison means a stale read, so
 * every transition of replica_policy.h is driven here: live, failed by a
 * request, back only after a check that started later, silent too long,
 * lagging, primary down, and which replica a read with an LSN gets.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "lsn.h"
#include "replica_list.h"
#include "replica_policy.h"
#include "unit.h"
#include "upstream_metrics.h"

static void lsn_text(void)
{
	uint64_t v = 7;
	char out[LSN_TEXT_MAX];

	CHECK_INT(lsn_parse("0/0", &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(lsn_parse("16/B374D848", &v), 0);
	CHECK(v == ((uint64_t)0x16 << 32 | 0xB374D848u));
	CHECK_INT(lsn_parse("ffffffff/ffffffff", &v), 0);
	CHECK(v == UINT64_MAX);
	lsn_format(v, out, sizeof out);
	CHECK_STR(out, "FFFFFFFF/FFFFFFFF");
	lsn_format((uint64_t)0x16 << 32 | 0xB374D848u, out, sizeof out);
	CHECK_STR(out, "16/B374D848");
	/* almost LSNs are refused: a lower position would skip a wait */
	const char *bad[] = {"", "0", "0/", "/1", "0x1/2", "1/2 ", " 1/2", "123456789/1", "1/123456789", "1/2/3",
			     "G/1", "1/-2", "+1/2", "1 /2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(lsn_parse(bad[i], &v), -1);
	CHECK_INT(lsn_parse(NULL, &v), -1);
}

static void replica_lists(void)
{
	struct replica_list l;
	char err[512], out[256];

	CHECK_INT(replica_list_parse("", &l, err, sizeof err), 0);
	CHECK_INT(l.n, 0);
	CHECK_INT(replica_list_parse("  \n\n", &l, err, sizeof err), 0);
	CHECK_INT(l.n, 0);
	/* what `make -s env` exports: URIs separated by blanks */
	CHECK_INT(replica_list_parse("postgresql:///db?host=/s&port=1 postgres://h:2/db", &l, err, sizeof err), 0);
	CHECK_INT(l.n, 2);
	CHECK_STR(l.dsn[0], "postgresql:///db?host=/s&port=1");
	CHECK_STR(l.dsn[1], "postgres://h:2/db");
	/* key=value strings, one per line, with URIs mixed in on their own lines */
	CHECK_INT(replica_list_parse("host=a port=1 dbname=x\n  postgresql://b/x  \nhost=c password='p w' port=3\n", &l,
				     err, sizeof err),
		  0);
	CHECK_INT(l.n, 3);
	CHECK_STR(l.dsn[0], "host=a port=1 dbname=x");
	CHECK_STR(l.dsn[2], "host=c password='p w' port=3");
	/* two key=value strings on one line: libpq would merge them, silently */
	CHECK_INT(replica_list_parse("host=a port=1 host=b port=2", &l, err, sizeof err), -1);
	CHECK(strstr(err, "names \"host\" twice") != NULL);
	CHECK_INT(replica_list_parse("postgresql://a/x host=b", &l, err, sizeof err), -1);
	CHECK(strstr(err, "replica 2") && strstr(err, "not one"));
	CHECK_INT(replica_list_parse("postgresql://a/x\npostgresql://a/x", &l, err, sizeof err), -1);
	CHECK(strstr(err, "listed twice") != NULL);
	CHECK_INT(replica_list_parse("localhost", &l, err, sizeof err), -1);
	CHECK(strstr(err, "neither") != NULL);
	CHECK_INT(replica_list_parse("postgresql://a/1 postgresql://a/2 postgresql://a/3 postgresql://a/4 "
				     "postgresql://a/5 postgresql://a/6 postgresql://a/7 postgresql://a/8 postgresql://a/9",
				     &l, err, sizeof err),
		  -1);
	CHECK(strstr(err, "more than 8") != NULL);
	/* a password never reaches a message */
	CHECK_INT(replica_list_parse("postgresql://u:s3cret@h/x host=b", &l, err, sizeof err), -1);
	CHECK_INT(replica_list_parse("host=a password=s3cret host=b", &l, err, sizeof err), -1);
	CHECK(strstr(err, "s3cret") == NULL && strstr(err, "password=***"));
	dsn_redact("postgresql://u:s3cret@h:5/x?sslmode=require", out, sizeof out);
	CHECK_STR(out, "postgresql://u:***@h:5/x?sslmode=require");
	dsn_redact("postgresql:///x?host=/s&password=s3cret&port=5", out, sizeof out);
	CHECK_STR(out, "postgresql:///x?host=/s&password=***&port=5");
	dsn_redact("host=a password='s3 cret' port=5", out, sizeof out);
	CHECK_STR(out, "host=a password=*** port=5");
	dsn_redact("postgresql://u@h/x", out, sizeof out);
	CHECK_STR(out, "postgresql://u@h/x");
}

static const char *fake_env(const char *name)
{
	if (strcmp(name, "OPENRISK_REPLICA_DSNS") == 0)
		return getenv("TEST_REPLICA_DSNS");
	if (strcmp(name, "OPENRISK_CONFIG") == 0)
		return getenv("TEST_CONFIG");
	return NULL;
}

/* Load the config with this file content (NULL: no file) and env list; 0 or -1. */
static int load_with(struct gw_config *cfg, const char *file, const char *env_list, char *err, size_t errlen)
{
	char path[] = "/tmp/openrisk-config-test-XXXXXX";
	int fd = -1, rc, help;

	config_defaults(cfg);
	if (file) {
		fd = mkstemp(path);
		if (fd < 0 || write(fd, file, strlen(file)) != (ssize_t)strlen(file))
			return -2;
		close(fd);
		setenv("TEST_CONFIG", path, 1);
	} else
		unsetenv("TEST_CONFIG");
	if (env_list)
		setenv("TEST_REPLICA_DSNS", env_list, 1);
	else
		unsetenv("TEST_REPLICA_DSNS");
	rc = config_load(cfg, fake_env, 0, NULL, 0, &help, err, errlen);
	if (file)
		unlink(path);
	return rc;
}

static void config_files(void)
{
	static struct gw_config cfg;
	char err[1024];

	/* defaults: no replicas, 1 s lag, 500 ms wait, 200 ms checks */
	CHECK_INT(load_with(&cfg, NULL, NULL, err, sizeof err), 0);
	CHECK_INT(cfg.replicas.n, 0);
	CHECK_INT(cfg.max_replica_lag_ms, 1000);
	CHECK_INT(cfg.replica_wait_ms, 500);
	CHECK_INT(cfg.health_interval_ms, 200);
	CHECK_INT(load_with(&cfg,
			    "# a deployment\n"
			    "dsn = host=/p port=5432 dbname=openrisk\n"
			    "pool-max-open = 7\n"
			    "pool-mode = production\n" /* applied first: the explicit size above wins */
			    "replica = host=/p port=5433 dbname=openrisk\n"
			    "replica = host=/p port=5434 dbname=openrisk\n"
			    "max-replica-lag = 250ms\n",
			    NULL, err, sizeof err),
		  0);
	CHECK_STR(cfg.dsn, "host=/p port=5432 dbname=openrisk");
	CHECK_INT(cfg.pool_max_open, 7);
	CHECK_INT(cfg.pool_max_idle, 7); /* production's 25, capped by max open */
	CHECK_INT(cfg.replicas.n, 2);
	CHECK_STR(cfg.replicas.dsn[1], "host=/p port=5434 dbname=openrisk");
	CHECK_INT(cfg.max_replica_lag_ms, 250);
	/* the environment overrides the file's list */
	CHECK_INT(load_with(&cfg, "replica = host=/p port=5433\n", "postgresql://x/1 postgresql://x/2 postgresql://x/3",
			    err, sizeof err),
		  0);
	CHECK_INT(cfg.replicas.n, 3);
	/* clear errors, naming the file and line */
	CHECK_INT(load_with(&cfg, "threads = 8\nthreads: 9\n", NULL, err, sizeof err), -1);
	CHECK(strstr(err, ":2: expected \"name = value\"") != NULL);
	CHECK_INT(load_with(&cfg, "\nmax-replica-lag = soon\n", NULL, err, sizeof err), -1);
	CHECK(strstr(err, ":2: max-replica-lag must be a duration") != NULL);
	CHECK_INT(load_with(&cfg, "replicas-lag = 1s\n", NULL, err, sizeof err), -1);
	CHECK(strstr(err, "replicas-lag is not an option") != NULL);
	CHECK_INT(load_with(&cfg, "config = /etc/other\n", NULL, err, sizeof err), -1);
	CHECK(strstr(err, "cannot name another") != NULL);
	CHECK_INT(load_with(&cfg, NULL, "host=a port=1 host=b port=2", err, sizeof err), -1);
	CHECK(strstr(err, "OPENRISK_REPLICA_DSNS") && strstr(err, "twice"));
	setenv("TEST_CONFIG", "/nonexistent/openrisk.conf", 1);
	{
		int help;
		config_defaults(&cfg);
		CHECK_INT(config_load(&cfg, fake_env, 0, NULL, 0, &help, err, sizeof err), -1);
		CHECK(strstr(err, "cannot read config file /nonexistent/openrisk.conf") != NULL);
	}
	unsetenv("TEST_CONFIG");
	unsetenv("TEST_REPLICA_DSNS");
}

static void lag_rings(void)
{
	struct lag_ring r;

	CHECK_INT(replica_ring_size(1000, 200), 5 + 16);
	CHECK_INT(lag_ring_init(&r, 4), 0);
	CHECK_INT(lag_ring_covered(&r, 100), -1); /* nothing sampled: cannot tell */
	CHECK(lag_ring_newest(&r) == 0);
	lag_ring_add(&r, 1000, 100);
	lag_ring_add(&r, 1200, 200);
	lag_ring_add(&r, 1400, 300);
	CHECK(lag_ring_newest(&r) == 300);
	CHECK_INT(lag_ring_covered(&r, 300), 1400); /* caught up with the newest sample */
	CHECK_INT(lag_ring_covered(&r, 299), 1200); /* misses WAL the primary had at 1400 */
	CHECK_INT(lag_ring_covered(&r, 100), 1000);
	CHECK_INT(lag_ring_covered(&r, 99), -1); /* older than a ring that has not filled yet */
	lag_ring_add(&r, 1600, 400);
	lag_ring_add(&r, 1800, 500);                /* overwrites (1000, 100) */
	CHECK_INT(lag_ring_covered(&r, 150), 1199); /* full ring: older than all -> oldest - 1 */
	CHECK_INT(lag_ring_covered(&r, 199), 1199);
	CHECK_INT(lag_ring_covered(&r, 1 << 30), 1800);
	lag_ring_free(&r);
}

static void health_states(void)
{
	struct routing_policy pol = {.max_lag_ms = 1000, .down_after_ms = 1600};
	struct upstream_health h = {0};

	CHECK_INT(health_live(&h, &pol, 100), 0); /* never checked */
	health_ok(&h, 1000);
	CHECK_INT(health_live(&h, &pol, 1100), 1);
	CHECK_INT(health_live(&h, &pol, 2600), 1);
	CHECK_INT(health_live(&h, &pol, 2601), 0); /* silent for longer than down_after */
	health_ok(&h, 2600);
	atomic_store(&h.fresh_ms, 2500);
	atomic_store(&h.replayed, 77);
	CHECK_INT(health_lag_ms(&h, 2700), 200);
	CHECK_INT(health_routable(&h, &pol, 1, 2700), 1);
	CHECK_INT(health_routable(&h, &pol, 1, 3501), 0); /* its data may be 1001 ms old */
	CHECK_INT(health_routable(&h, &pol, 0, 3501), 1); /* ...but the primary is down: no fresher copy */
	/* a request saw it fail: out at once, its replay knowledge forgotten */
	health_failed(&h, 2800);
	CHECK_INT(health_live(&h, &pol, 2801), 0);
	CHECK_INT(health_lag_ms(&h, 2801), -1);
	CHECK(atomic_load(&h.replayed) == 0);
	/* a check that started before the failure does not bring it back */
	health_ok(&h, 2750);
	CHECK_INT(health_live(&h, &pol, 2900), 0);
	health_ok(&h, 2801);
	CHECK_INT(health_live(&h, &pol, 2900), 1);
	CHECK_INT(health_routable(&h, &pol, 1, 2900), 0); /* live but lag unknown: no reads yet */
	CHECK_INT(health_routable(&h, &pol, 0, 2900), 1);
}

static void choices(void)
{
	struct routing_policy pol = {.max_lag_ms = 1000, .down_after_ms = 1600};
	struct upstream_health primary = {0}, a = {0}, b = {0};
	const struct upstream_health *reps[2] = {&a, &b};
	int which = -1, seen[2] = {0, 0};

	health_ok(&primary, 10000);
	CHECK_INT(policy_choose(&pol, &primary, reps, 0, 0, 10100, 0, &which), READ_PRIMARY); /* no replicas */
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 0, 10100, 0, &which), READ_PRIMARY); /* none checked */
	health_ok(&a, 10000);
	atomic_store(&a.fresh_ms, 9900);
	atomic_store(&a.replayed, 500);
	health_ok(&b, 10000);
	atomic_store(&b.fresh_ms, 9950);
	atomic_store(&b.replayed, 600);
	for (unsigned spin = 0; spin < 10; spin++) {
		CHECK_INT(policy_choose(&pol, &primary, reps, 2, 0, 10100, spin, &which), READ_REPLICA);
		if (which >= 0 && which < 2)
			seen[which]++;
	}
	CHECK(seen[0] == 5 && seen[1] == 5); /* round-robin */
	/* an LSN both replayed: either; only b replayed: b; neither: wait on the one ahead */
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 500, 10100, 1, &which), READ_REPLICA);
	CHECK_INT(which, 1);
	/* replayed exactly the LSN is enough: the commit record's end (no wait) */
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 500, 10100, 0, &which), READ_REPLICA);
	CHECK_INT(which, 0);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 600, 10100, 0, &which), READ_REPLICA);
	CHECK_INT(which, 1);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 550, 10100, 0, &which), READ_REPLICA);
	CHECK_INT(which, 1);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 601, 10100, 0, &which), READ_REPLICA_WAIT);
	CHECK_INT(which, 1);
	/* b stops replaying and its lag passes max_lag, a catches up: only a */
	health_ok(&a, 10900);
	atomic_store(&a.fresh_ms, 10900);
	atomic_store(&a.replayed, 700);
	health_ok(&b, 10900);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 0, 10951, 3, &which), READ_REPLICA);
	CHECK_INT(which, 0);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 550, 10951, 3, &which), READ_REPLICA);
	CHECK_INT(which, 0);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 701, 10951, 3, &which), READ_REPLICA_WAIT);
	CHECK_INT(which, 0);
	/* a fails too: the primary, LSN or not */
	health_failed(&a, 10960);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 0, 10970, 0, &which), READ_PRIMARY);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 1, 10970, 0, &which), READ_PRIMARY);
	/* the primary goes down: b serves whatever its lag; an LSN it lacks must still wait */
	health_failed(&primary, 10980);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 0, 11000, 0, &which), READ_REPLICA);
	CHECK_INT(which, 1);
	CHECK_INT(policy_choose(&pol, &primary, reps, 2, 700, 11000, 0, &which), READ_REPLICA_WAIT);
}

static void metrics_text(void)
{
	struct upstream_figures f = {0};
	struct histogram wait = {0};
	size_t len;
	char *text;

	f.n = 2;
	f.s[0] = (struct upstream_sample){.name = "primary", .role = "primary", .up = 1, .routable = 1, .writes = 3};
	f.s[1] = (struct upstream_sample){.name = "replica-1", .role = "replica", .up = 1, .lag_seconds = 0.0 / 0.0, .reads = 9};
	f.s[1].pool.max = 10;
	f.max_lag_seconds = 1.5;
	f.lsn_reads[LSN_PRIMARY_AFTER_WAIT] = 4;
	f.lsn_wait = &wait;
	histogram_observe(&wait, 0.002);
	text = metrics_render_with(NULL, NULL, upstream_metrics_render, &f, &len);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK(strstr(text, "openrisk_upstream_up{upstream=\"primary\",role=\"primary\"} 1\n") != NULL);
	CHECK(strstr(text, "openrisk_upstream_routable{upstream=\"replica-1\",role=\"replica\"} 0\n") != NULL);
	CHECK(strstr(text, "openrisk_upstream_replay_lag_seconds{upstream=\"primary\",role=\"primary\"} 0\n") != NULL);
	CHECK(strstr(text, "openrisk_upstream_replay_lag_seconds{upstream=\"replica-1\",role=\"replica\"} NaN\n") != NULL);
	CHECK(strstr(text, "openrisk_upstream_reads_total{upstream=\"replica-1\",role=\"replica\"} 9\n") != NULL);
	CHECK(strstr(text, "openrisk_upstream_writes_total{upstream=\"primary\",role=\"primary\"} 3\n") != NULL);
	CHECK(strstr(text, "openrisk_upstream_pool_connections_max{upstream=\"replica-1\",role=\"replica\"} 10\n") != NULL);
	CHECK(strstr(text, "openrisk_replica_max_lag_seconds 1.5\n") != NULL);
	CHECK(strstr(text, "openrisk_lsn_reads_total{outcome=\"primary_after_wait\"} 4\n") != NULL);
	CHECK(strstr(text, "openrisk_lsn_wait_seconds_count 1\n") != NULL);
	CHECK(strstr(text, "# TYPE openrisk_upstream_reads_total counter\n") != NULL);
	free(text);
}

void test_replica(void)
{
	lsn_text();
	replica_lists();
	config_files();
	lag_rings();
	health_states();
	choices();
	metrics_text();
}
