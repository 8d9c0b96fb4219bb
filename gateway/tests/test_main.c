/* test_main.c -- runs every unit test group; exit 1 when any check failed. */
#include "unit.h"

int unit_passed, unit_failed;

int main(void)
{
	test_router();
	test_routes();
	test_jwt();
	test_config();
	test_errors();
	test_query();
	test_metrics();
	test_event_parse();
	test_cors();
	test_list_links();
	test_replica();
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
