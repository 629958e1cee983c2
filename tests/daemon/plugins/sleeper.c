/* sleeper: a partitioned test plugin whose extract takes `sleep_ms`,
 * checking the host's cancel flag every 10 ms, and fails on `fail_on`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kiln/plugin.h"

typedef struct {
  long long sleep_ms;
  char fail_on[16];
} sleeper_t;

static sleeper_t instance_storage[64];
static int next_instance;

static kiln_status_t s_configure(const kiln_host_t *host, const kiln_option_value_t *o, uint32_t n, void **out,
                                 kiln_message_t *error) {
  (void)host;
  if (next_instance == 64) {
    snprintf(error->text, sizeof error->text, "too many instances");
    return KILN_ERROR;
  }
  sleeper_t *s = &instance_storage[next_instance++];
  for (uint32_t i = 0; i < n; ++i) {
    if (strcmp(o[i].name, "sleep_ms") == 0) s->sleep_ms = o[i].as.i;
    if (strcmp(o[i].name, "fail_on") == 0) snprintf(s->fail_on, sizeof s->fail_on, "%s", o[i].as.s);
  }
  *out = s;
  return KILN_OK;
}

static kiln_status_t s_init(void *inst, const kiln_host_t *host, kiln_message_t *error) {
  (void)inst, (void)host, (void)error;
  return KILN_OK;
}

static kiln_status_t s_extract(void *inst, const kiln_run_t *run, kiln_message_t *error) {
  sleeper_t *s = inst;
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (long long waited = 0; waited < s->sleep_ms; waited += 10) {
    if (run->host->cancelled(run->host->ctx)) {
      snprintf(error->text, sizeof error->text, "stopped: cancelled");
      return KILN_ERROR;
    }
    nanosleep(&tick, NULL);
  }
  if (run->partition && strcmp(run->partition, s->fail_on) == 0) {
    snprintf(error->text, sizeof error->text, "failing on %s on purpose", s->fail_on);
    return KILN_ERROR;
  }
  run->host->add_records(run->host->ctx, 1);
  return KILN_OK;
}

static kiln_status_t s_pass(void *inst, const kiln_run_t *run, kiln_message_t *error) {
  (void)inst, (void)run, (void)error;
  return KILN_OK;
}

static void s_teardown(void *inst, const kiln_host_t *host) { (void)inst, (void)host; }

static const kiln_option_spec_t options[] = {
    {"sleep_ms", KILN_OPTION_INT, 0, "0", "milliseconds extract takes"},
    {"fail_on", KILN_OPTION_STRING, 0, "never", "partition date on which extract fails"},
};

static const kiln_plugin_descriptor_t descriptor = {
    KILN_ABI_MAGIC, KILN_ABI_MAJOR, KILN_ABI_MINOR, (uint32_t)sizeof(kiln_plugin_descriptor_t),
    KILN_BUILD_SIGNATURE_THIS, "sleeper", "1.0.0", KILN_CAP_PARTITIONED_BY_DATE,
    options, 2, 0,
    s_configure, s_init, s_extract, s_pass, s_pass, s_pass, s_pass, s_teardown,
};

KILN_PLUGIN_ENTRY { return &descriptor; }
