/* swappable: one source, several versions (SWAP_VERSION), for hot-swap
 * tests. SWAP_BAD_INIT fails init (a version that must be refused);
 * SWAP_BAD_RUN fails every extract (a version that must be rolled back). */
#include <stdio.h>

#include "kiln/plugin.h"

#ifndef SWAP_VERSION
#define SWAP_VERSION "1.0.0"
#endif

static int instance_token;

static kiln_status_t sw_configure(const kiln_host_t *h, const kiln_option_value_t *o, uint32_t n, void **out,
                                  kiln_message_t *e) {
  (void)h, (void)o, (void)n, (void)e;
  *out = &instance_token;
  return KILN_OK;
}
static kiln_status_t sw_init(void *inst, const kiln_host_t *h, kiln_message_t *e) {
  (void)inst, (void)h;
#ifdef SWAP_BAD_INIT
  snprintf(e->text, sizeof e->text, "version %s cannot connect", SWAP_VERSION);
  return KILN_ERROR;
#else
  (void)e;
  return KILN_OK;
#endif
}
static kiln_status_t sw_extract(void *inst, const kiln_run_t *run, kiln_message_t *e) {
  (void)inst;
#ifdef SWAP_BAD_RUN
  (void)run;
  snprintf(e->text, sizeof e->text, "version %s is broken", SWAP_VERSION);
  return KILN_ERROR;
#else
  (void)e;
  run->host->add_records(run->host->ctx, 1);
  return KILN_OK;
#endif
}
static kiln_status_t sw_pass(void *inst, const kiln_run_t *run, kiln_message_t *e) {
  (void)inst, (void)run, (void)e;
  return KILN_OK;
}
static void sw_teardown(void *inst, const kiln_host_t *h) { (void)inst, (void)h; }

static const kiln_plugin_descriptor_t descriptor = {
    KILN_ABI_MAGIC, KILN_ABI_MAJOR, KILN_ABI_MINOR, (uint32_t)sizeof(kiln_plugin_descriptor_t),
    KILN_BUILD_SIGNATURE_THIS, "swappable", SWAP_VERSION, 0, NULL, 0, 0,
    sw_configure, sw_init, sw_extract, sw_pass, sw_pass, sw_pass, sw_pass, sw_teardown,
};
KILN_PLUGIN_ENTRY { return &descriptor; }
