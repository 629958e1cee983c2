/*
 * row_count: a plugin in plain C. For one date, counts the rows of a CSV file
 * whose first column is that date, and writes the count to
 * <output_dir>/row_count/<date>.txt (temporary file, then rename: idempotent).
 * It shows the ABI with no C++ layer: a descriptor, eight functions, an
 * option schema, and errors written into the host's message buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln/plugin.h"

typedef struct {
  char input[1024];
  char out_dir[1024];
  uint64_t rows;
} row_count_t;

static kiln_status_t fail(kiln_message_t *error, const char *what, const char *path) {
  snprintf(error->text, sizeof error->text, "%s %.900s: %s", what, path, strerror(errno));
  return KILN_ERROR;
}

static kiln_status_t rc_configure(const kiln_host_t *host, const kiln_option_value_t *options, uint32_t count,
                                  void **instance, kiln_message_t *error) {
  (void)host;
  row_count_t *rc = calloc(1, sizeof *rc);
  if (rc == NULL) {
    snprintf(error->text, sizeof error->text, "out of memory");
    return KILN_ERROR;
  }
  /* The host has checked names and types against the schema below. */
  for (uint32_t i = 0; i < count; ++i) {
    char *dst = strcmp(options[i].name, "input") == 0 ? rc->input : rc->out_dir;
    if (strlen(options[i].as.s) >= sizeof rc->input) {
      snprintf(error->text, sizeof error->text, "option '%s' is longer than %zu bytes", options[i].name,
               sizeof rc->input - 1);
      free(rc);
      return KILN_ERROR;
    }
    strcpy(dst, options[i].as.s);
  }
  *instance = rc;
  return KILN_OK;
}

static kiln_status_t rc_init(void *instance, const kiln_host_t *host, kiln_message_t *error) {
  row_count_t *rc = instance;
  char dir[1100];
  (void)host;
  snprintf(dir, sizeof dir, "%s/row_count", rc->out_dir);
  if (mkdir(rc->out_dir, 0755) != 0 && errno != EEXIST) return fail(error, "cannot create", rc->out_dir);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return fail(error, "cannot create", dir);
  return KILN_OK;
}

static kiln_status_t rc_extract(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  row_count_t *rc = instance;
  FILE *in = fopen(rc->input, "r");
  char line[4096];
  size_t len = strlen(run->partition);
  if (in == NULL) return fail(error, "cannot open", rc->input);
  rc->rows = 0;
  while (fgets(line, sizeof line, in) != NULL) {
    if (strncmp(line, run->partition, len) == 0 && line[len] == ',') ++rc->rows;
    if (run->host->cancelled(run->host->ctx)) break;
  }
  fclose(in);
  run->host->add_records(run->host->ctx, rc->rows);
  return KILN_OK;
}

static kiln_status_t rc_validate(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  (void)instance;
  (void)run;
  (void)error;
  return KILN_OK; /* a count of zero is a valid answer: no games that day */
}

static kiln_status_t rc_transform(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  (void)instance;
  (void)error;
  run->host->progress(run->host->ctx, 1, 1);
  return KILN_OK;
}

static kiln_status_t rc_save(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  row_count_t *rc = instance;
  char path[1200], tmp[1210];
  FILE *out;
  if (run->dry_run) return KILN_OK;
  snprintf(path, sizeof path, "%s/row_count/%s.txt", rc->out_dir, run->partition);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  out = fopen(tmp, "w");
  if (out == NULL) return fail(error, "cannot write", tmp);
  fprintf(out, "%llu\n", (unsigned long long)rc->rows);
  if (fclose(out) != 0) return fail(error, "cannot write", tmp);
  if (rename(tmp, path) != 0) return fail(error, "cannot rename to", path);
  run->host->add_records(run->host->ctx, 1);
  return KILN_OK;
}

static kiln_status_t rc_post_process(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  row_count_t *rc = instance;
  char msg[128];
  (void)error;
  snprintf(msg, sizeof msg, "%llu rows on %s", (unsigned long long)rc->rows, run->partition);
  run->host->log(run->host->ctx, KILN_LOG_INFO, msg);
  return KILN_OK;
}

static void rc_teardown(void *instance, const kiln_host_t *host) {
  (void)host;
  free(instance);
}

static const kiln_option_spec_t options[] = {
    {"input", KILN_OPTION_STRING, 1, NULL, "CSV file whose first column is a date"},
    {"output_dir", KILN_OPTION_STRING, 1, NULL, "directory the daily counts are written under"},
};

static const kiln_plugin_descriptor_t descriptor = {
    KILN_ABI_MAGIC, KILN_ABI_MAJOR, KILN_ABI_MINOR, (uint32_t)sizeof(kiln_plugin_descriptor_t),
    KILN_BUILD_SIGNATURE_THIS,
    "row_count", "1.0.0", KILN_CAP_PARTITIONED_BY_DATE,
    options, sizeof options / sizeof options[0], 0,
    rc_configure, rc_init, rc_extract, rc_validate, rc_transform, rc_save, rc_post_process, rc_teardown,
};

KILN_PLUGIN_ENTRY { return &descriptor; }
