/*
 * kiln/plugin.h: the Kiln plugin ABI, version 1.
 *
 * This header is the whole contract between kilnd and a processor plugin. It is
 * valid C99 and C++, and only C types cross it: no exception, no C++ object and
 * no allocation owned by one side is ever freed by the other.
 *
 * A plugin is a shared object that exports one function, KILN_ENTRY_SYMBOL,
 * returning a pointer to a static kiln_plugin_descriptor_t. The host reads the
 * fixed head of the descriptor (magic, ABI major/minor, struct size) before
 * anything else, so the head never changes, not even across major versions.
 *
 * Versioning rules:
 *   - A major version change may change anything after the head. The host
 *     refuses a plugin whose major differs from its own.
 *   - A minor version only appends fields at the end of a struct. The host
 *     refuses a plugin built against a newer minor than its own, accepts an
 *     older one, and reads an appended field only when struct_size covers it.
 *   - Every lifecycle function in version 1.0 is required. Functions that a
 *     later minor adds are optional: absent (beyond struct_size) or NULL.
 *
 * Lifecycle (one instance of a processor):
 *   configure  -> creates the instance from options the host has already
 *                 checked against the schema; rejects bad combinations.
 *   init       -> opens clients and resources.
 *   per run:    extract -> validate -> transform -> save -> post_process.
 *               A phase that fails ends the run; post_process runs only
 *               after a successful save.
 *   teardown   -> releases everything; called exactly once per instance that
 *                 configure created, whether or not init succeeded.
 * The host never calls into one instance from two threads at once. Recording
 * runs (the ledger) is the host's job, not the plugin's.
 */
#ifndef KILN_PLUGIN_H
#define KILN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_ABI_MAGIC UINT64_C(0x314e4c494b4e4c4b) /* "KLNKILN1" little-endian */
#define KILN_ABI_MAJOR 1
#define KILN_ABI_MINOR 0

/* The one symbol a plugin exports. */
#define KILN_ENTRY_SYMBOL "kiln_plugin_entry"

/* Longest error message a plugin can hand back, terminator included. */
#define KILN_MESSAGE_MAX 1024

/* Result of every lifecycle function. */
typedef int32_t kiln_status_t;
#define KILN_OK 0
#define KILN_ERROR 1

/* An error message written by the plugin into host-owned storage. */
typedef struct kiln_message {
  char text[KILN_MESSAGE_MAX];
} kiln_message_t;

/* Capability bits. A plugin may set only bits its ABI minor defines. */
#define KILN_CAP_PARTITIONED_BY_DATE UINT64_C(0x1) /* runs per date: backfillable */
#define KILN_CAP_KNOWN_V1_0 KILN_CAP_PARTITIONED_BY_DATE

/* What the plugin was built with. The host refuses a pointer size or byte
 * order different from its own; the C++ runtime is informational, since no
 * C++ type crosses the boundary. */
#define KILN_BYTE_ORDER_MARK UINT32_C(0x01020304)
#define KILN_CXX_RUNTIME_NONE 0       /* plain C */
#define KILN_CXX_RUNTIME_LIBSTDCXX 1  /* GNU libstdc++, _GLIBCXX_USE_CXX11_ABI=1 */
#define KILN_CXX_RUNTIME_LIBSTDCXX_OLD 2 /* GNU libstdc++, pre-C++11 ABI */
#define KILN_CXX_RUNTIME_LIBCXX 3     /* LLVM libc++ */
#define KILN_CXX_RUNTIME_OTHER 4

typedef struct kiln_build_signature {
  uint32_t pointer_size; /* sizeof(void *) */
  uint32_t byte_order;   /* KILN_BYTE_ORDER_MARK as stored by the plugin */
  uint32_t cxx_runtime;  /* KILN_CXX_RUNTIME_* */
  uint32_t reserved;     /* zero */
  const char *compiler;  /* e.g. "gcc 12.2.0"; informational */
} kiln_build_signature_t;

/* Option schema. The host checks every configured option against it before
 * configure sees anything: unknown names, wrong types, missing required ones
 * are the host's errors, reported with the config file and line. */
#define KILN_OPTION_STRING 1
#define KILN_OPTION_INT 2    /* int64 */
#define KILN_OPTION_FLOAT 3  /* double */
#define KILN_OPTION_BOOL 4
#define KILN_OPTION_DATE 5   /* "YYYY-MM-DD", passed as a string */

typedef struct kiln_option_spec {
  const char *name;          /* [a-z][a-z0-9_]*, unique in the schema */
  int32_t type;              /* KILN_OPTION_* */
  int32_t required;          /* 1: must be configured; then default_value is NULL */
  const char *default_value; /* textual default, parsed as `type`; NULL when required */
  const char *doc;           /* one line, non-empty */
} kiln_option_spec_t;

/* One option value, in schema order. Every optional option arrives set: to
 * its configured value or its default. */
typedef struct kiln_option_value {
  const char *name; /* the schema's name, for convenience */
  int32_t type;     /* the schema's type */
  int32_t reserved;
  union {
    const char *s; /* STRING and DATE */
    int64_t i;     /* INT */
    double f;      /* FLOAT */
    int32_t b;     /* BOOL: 0 or 1 */
  } as;
} kiln_option_value_t;

/* Log levels handed to kiln_host_t.log. */
#define KILN_LOG_DEBUG 1
#define KILN_LOG_INFO 2
#define KILN_LOG_WARN 3
#define KILN_LOG_ERROR 4

/* Services the host hands to the plugin. `ctx` is opaque and must be passed
 * back unchanged. Every function is safe to call from the thread that is
 * executing the current lifecycle call. */
typedef struct kiln_host {
  uint32_t struct_size;
  uint32_t reserved;
  void *ctx;
  /* A log line, routed into the host's log with plugin, processor and run id. */
  void (*log)(void *ctx, int32_t level, const char *message);
  /* Progress of the current run: `done` of `total` units (total 0: unknown). */
  void (*progress)(void *ctx, uint64_t done, uint64_t total);
  /* Adds `count` to the records the current phase produced. */
  void (*add_records)(void *ctx, uint64_t count);
  /* Non-zero once the run should stop: return KILN_ERROR soon after. */
  int32_t (*cancelled)(void *ctx);
} kiln_host_t;

/* Why a run happens. */
#define KILN_TRIGGER_MANUAL 1
#define KILN_TRIGGER_SCHEDULE 2
#define KILN_TRIGGER_BACKFILL 3
#define KILN_TRIGGER_RETRY 4
#define KILN_TRIGGER_CATCHUP 5

/* One run, the same pointer for every phase of it. */
typedef struct kiln_run {
  uint32_t struct_size;
  int32_t trigger;       /* KILN_TRIGGER_* */
  const char *run_id;    /* unique in the ledger */
  const char *processor; /* the configured processor name */
  const char *partition; /* "YYYY-MM-DD" for partitioned plugins, else NULL */
  int32_t dry_run;       /* 1: compute and validate, write nothing */
  int32_t reserved;
  const kiln_host_t *host; /* services bound to this run */
} kiln_run_t;

/* The lifecycle. Every function but teardown returns KILN_OK or KILN_ERROR
 * and, on error, writes a one-line reason into `error`. None may throw,
 * longjmp out or call exit(). */
typedef kiln_status_t (*kiln_configure_fn)(const kiln_host_t *host,
                                           const kiln_option_value_t *options,
                                           uint32_t option_count, void **instance,
                                           kiln_message_t *error);
typedef kiln_status_t (*kiln_init_fn)(void *instance, const kiln_host_t *host,
                                      kiln_message_t *error);
typedef kiln_status_t (*kiln_phase_fn)(void *instance, const kiln_run_t *run,
                                       kiln_message_t *error);
typedef void (*kiln_teardown_fn)(void *instance, const kiln_host_t *host);

typedef struct kiln_plugin_descriptor {
  /* Head: fixed for every ABI version. */
  uint64_t magic;       /* KILN_ABI_MAGIC */
  uint16_t abi_major;   /* KILN_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;   /* KILN_ABI_MINOR the plugin was built against */
  uint32_t struct_size; /* sizeof(kiln_plugin_descriptor_t) as the plugin saw it */

  /* Version 1.0. */
  kiln_build_signature_t build;
  const char *name;    /* [a-z][a-z0-9_]{0,63} */
  const char *version; /* semantic version, e.g. "1.4.0" */
  uint64_t capabilities; /* KILN_CAP_* */
  const kiln_option_spec_t *options;
  uint32_t option_count;
  uint32_t reserved;

  kiln_configure_fn configure;
  kiln_init_fn init;
  kiln_phase_fn extract;
  kiln_phase_fn validate;
  kiln_phase_fn transform;
  kiln_phase_fn save;
  kiln_phase_fn post_process;
  kiln_teardown_fn teardown;
} kiln_plugin_descriptor_t;

/* Size of the head the host reads first, and of the whole 1.0 descriptor. */
#define KILN_DESCRIPTOR_HEAD_SIZE 16u
#define KILN_DESCRIPTOR_V1_0_SIZE \
  (offsetof(kiln_plugin_descriptor_t, teardown) + sizeof(kiln_teardown_fn))

typedef const kiln_plugin_descriptor_t *(*kiln_entry_fn)(void);

/* Build-signature helpers for the plugin's own compiler. */
#if defined(_LIBCPP_VERSION)
#define KILN_CXX_RUNTIME_THIS KILN_CXX_RUNTIME_LIBCXX
#elif defined(__GLIBCXX__) && defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define KILN_CXX_RUNTIME_THIS KILN_CXX_RUNTIME_LIBSTDCXX
#elif defined(__GLIBCXX__)
#define KILN_CXX_RUNTIME_THIS KILN_CXX_RUNTIME_LIBSTDCXX_OLD
#elif defined(__cplusplus)
#define KILN_CXX_RUNTIME_THIS KILN_CXX_RUNTIME_OTHER
#else
#define KILN_CXX_RUNTIME_THIS KILN_CXX_RUNTIME_NONE
#endif

#define KILN_STRINGIFY_(x) #x
#define KILN_STRINGIFY(x) KILN_STRINGIFY_(x)
#if defined(__clang__)
#define KILN_COMPILER_THIS \
  "clang " KILN_STRINGIFY(__clang_major__) "." KILN_STRINGIFY(__clang_minor__) "." KILN_STRINGIFY(__clang_patchlevel__)
#elif defined(__GNUC__)
#define KILN_COMPILER_THIS \
  "gcc " KILN_STRINGIFY(__GNUC__) "." KILN_STRINGIFY(__GNUC_MINOR__) "." KILN_STRINGIFY(__GNUC_PATCHLEVEL__)
#else
#define KILN_COMPILER_THIS "unknown"
#endif

/* Initialiser for the `build` field of a descriptor. */
#define KILN_BUILD_SIGNATURE_THIS \
  { (uint32_t)sizeof(void *), KILN_BYTE_ORDER_MARK, KILN_CXX_RUNTIME_THIS, 0u, KILN_COMPILER_THIS }

/* Marks the entry function as exported under -fvisibility=hidden. */
#if defined(__GNUC__)
#define KILN_EXPORT __attribute__((visibility("default")))
#else
#define KILN_EXPORT
#endif

/* Declares the entry function in a plugin; define it with the same line
 * followed by a body returning the descriptor. */
#ifdef __cplusplus
#define KILN_PLUGIN_ENTRY \
  extern "C" KILN_EXPORT const kiln_plugin_descriptor_t *kiln_plugin_entry(void)
#else
#define KILN_PLUGIN_ENTRY KILN_EXPORT const kiln_plugin_descriptor_t *kiln_plugin_entry(void)
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KILN_PLUGIN_H */
