/* spin: a partitioned plugin whose extract burns `work_ms` of CPU, for the
 * backfill benchmark (a CPU-bound processor, so parallelism shows). */
#include <string.h>
#include <time.h>

#include "kiln/plugin.h"

static long long work_ms = 50;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static kiln_status_t sp_configure(const kiln_host_t *h, const kiln_option_value_t *o, uint32_t n, void **out,
                                  kiln_message_t *e) {
  (void)h, (void)e;
  for (uint32_t i = 0; i < n; ++i) {
    if (strcmp(o[i].name, "work_ms") == 0) work_ms = o[i].as.i;
  }
  *out = &work_ms;
  return KILN_OK;
}
static kiln_status_t sp_init(void *inst, const kiln_host_t *h, kiln_message_t *e) {
  (void)inst, (void)h, (void)e;
  return KILN_OK;
}
static kiln_status_t sp_extract(void *inst, const kiln_run_t *run, kiln_message_t *e) {
  volatile unsigned long long x = 0;
  const double end = now_ms() + (double)*(long long *)inst;
  (void)e;
  while (now_ms() < end) {
    for (int i = 0; i < 10000; ++i) x += (unsigned long long)i * 2654435761u;
  }
  run->host->add_records(run->host->ctx, 1);
  return KILN_OK;
}
static kiln_status_t sp_pass(void *inst, const kiln_run_t *run, kiln_message_t *e) {
  (void)inst, (void)run, (void)e;
  return KILN_OK;
}
static void sp_teardown(void *inst, const kiln_host_t *h) { (void)inst, (void)h; }

static const kiln_option_spec_t options[] = {
    {"work_ms", KILN_OPTION_INT, 0, "50", "CPU milliseconds extract burns"},
};
static const kiln_plugin_descriptor_t descriptor = {
    KILN_ABI_MAGIC, KILN_ABI_MAJOR, KILN_ABI_MINOR, (uint32_t)sizeof(kiln_plugin_descriptor_t),
    KILN_BUILD_SIGNATURE_THIS, "spin", "1.0.0", KILN_CAP_PARTITIONED_BY_DATE, options, 1, 0,
    sp_configure, sp_init, sp_extract, sp_pass, sp_pass, sp_pass, sp_pass, sp_teardown,
};
KILN_PLUGIN_ENTRY { return &descriptor; }
