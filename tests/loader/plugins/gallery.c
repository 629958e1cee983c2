/*
 * gallery.c: one C plugin, compiled once per defect by tests/loader/CMakeLists.txt.
 * Each KILN_TEST_* macro breaks exactly one thing the loader must catch, or
 * makes one lifecycle phase fail, so every refusal and failure path has a
 * real shared object behind its test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/plugin.h"

#ifndef KILN_TEST_NAME
#define KILN_TEST_NAME "gallery"
#endif
#ifndef KILN_TEST_VERSION
#define KILN_TEST_VERSION "1.0.0"
#endif
#ifndef KILN_TEST_MAJOR
#define KILN_TEST_MAJOR KILN_ABI_MAJOR
#endif
#ifndef KILN_TEST_MINOR
#define KILN_TEST_MINOR KILN_ABI_MINOR
#endif
#ifndef KILN_TEST_MAGIC
#define KILN_TEST_MAGIC KILN_ABI_MAGIC
#endif
#ifndef KILN_TEST_SIZE
#define KILN_TEST_SIZE sizeof(kiln_plugin_descriptor_t)
#endif
#ifndef KILN_TEST_CAPS
#define KILN_TEST_CAPS KILN_CAP_PARTITIONED_BY_DATE
#endif
#ifndef KILN_TEST_POINTER_SIZE
#define KILN_TEST_POINTER_SIZE sizeof(void *)
#endif
/* Which phase fails: 0 none, else the phase's name as a string literal. */
#ifndef KILN_TEST_FAIL_PHASE
#define KILN_TEST_FAIL_PHASE ""
#endif

#ifdef KILN_TEST_UNRESOLVED
/* Declared, never defined anywhere: dlopen(RTLD_NOW) must fail on it. */
extern int kiln_test_symbol_nobody_defines(void);
#endif

typedef struct {
  int64_t window;
  int runs;
} gallery_t;

static kiln_status_t maybe_fail(const char *phase, kiln_message_t *error) {
  if (strcmp(phase, KILN_TEST_FAIL_PHASE) == 0) {
    snprintf(error->text, sizeof error->text, "%s exploded on purpose", phase);
    return KILN_ERROR;
  }
  return KILN_OK;
}

static kiln_status_t g_configure(const kiln_host_t *host, const kiln_option_value_t *options,
                                 uint32_t count, void **instance, kiln_message_t *error) {
  (void)host;
  if (maybe_fail("configure", error) != KILN_OK) return KILN_ERROR;
  gallery_t *g = calloc(1, sizeof *g);
  if (!g) return KILN_ERROR;
  for (uint32_t i = 0; i < count; ++i) {
    if (strcmp(options[i].name, "window") == 0) g->window = options[i].as.i;
  }
  if (g->window > 100) {
    snprintf(error->text, sizeof error->text, "window %lld is larger than 100", (long long)g->window);
    free(g);
    return KILN_ERROR;
  }
  *instance = g;
  return KILN_OK;
}

static kiln_status_t g_init(void *instance, const kiln_host_t *host, kiln_message_t *error) {
  (void)instance;
  host->log(host->ctx, KILN_LOG_DEBUG, "gallery init");
  return maybe_fail("init", error);
}

#define PHASE(fn, label, records)                                                    \
  static kiln_status_t fn(void *instance, const kiln_run_t *run, kiln_message_t *error) { \
    (void)instance;                                                                  \
    if (records) run->host->add_records(run->host->ctx, records);                    \
    return maybe_fail(label, error);                                                 \
  }
PHASE(g_extract, "extract", 10)
PHASE(g_validate, "validate", 0)
PHASE(g_transform, "transform", 0)
PHASE(g_save, "save", 10)
PHASE(g_post_process, "post_process", 0)

static void g_teardown(void *instance, const kiln_host_t *host) {
  (void)host;
  free(instance);
}

static const kiln_option_spec_t options[] = {
#ifdef KILN_TEST_BAD_SCHEMA
    {"window", 42, 0, "5", "games in the rolling window"},
#else
    {"window", KILN_OPTION_INT, 0, "5", "games in the rolling window"},
#endif
    {"label", KILN_OPTION_STRING, 0, "none", "a label"},
};

static const kiln_plugin_descriptor_t descriptor = {
    KILN_TEST_MAGIC,
    KILN_TEST_MAJOR,
    KILN_TEST_MINOR,
    (uint32_t)(KILN_TEST_SIZE),
    {(uint32_t)(KILN_TEST_POINTER_SIZE), KILN_BYTE_ORDER_MARK, KILN_CXX_RUNTIME_THIS, 0u, KILN_COMPILER_THIS},
    KILN_TEST_NAME,
    KILN_TEST_VERSION,
    KILN_TEST_CAPS,
    options,
    sizeof options / sizeof options[0],
    0,
#ifdef KILN_TEST_NO_CONFIGURE
    NULL,
#else
    g_configure,
#endif
#ifdef KILN_TEST_NO_INIT
    NULL,
#else
    g_init,
#endif
#ifdef KILN_TEST_NO_EXTRACT
    NULL,
#else
    g_extract,
#endif
#ifdef KILN_TEST_NO_VALIDATE
    NULL,
#else
    g_validate,
#endif
#ifdef KILN_TEST_NO_TRANSFORM
    NULL,
#else
    g_transform,
#endif
#ifdef KILN_TEST_NO_SAVE
    NULL,
#else
    g_save,
#endif
#ifdef KILN_TEST_NO_POST_PROCESS
    NULL,
#else
    g_post_process,
#endif
#ifdef KILN_TEST_NO_TEARDOWN
    NULL,
#else
    g_teardown,
#endif
};

#ifndef KILN_TEST_NO_ENTRY
KILN_PLUGIN_ENTRY {
#ifdef KILN_TEST_UNRESOLVED
  if (kiln_test_symbol_nobody_defines()) return NULL;
#endif
#ifdef KILN_TEST_NULL_DESCRIPTOR
  return NULL;
#else
  return &descriptor;
#endif
}
#else
/* A shared library that is not a plugin: it exports something else. */
KILN_EXPORT int not_a_plugin(void) { return (int)descriptor.abi_major; }
#endif
