// kilnctl new-plugin NAME [--lang cpp|c] [--dir DIR]: scaffolds a plugin
// project that builds out of tree against an installed Kiln
// (find_package(Kiln 1) + kiln_add_plugin) and passes its conformance test
// (Kiln::testing) unchanged. docs/sdk-guide.md walks through it.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tools/kilnctl/commands.h"

namespace kiln::ctl {
namespace {

// ---------------------------------------------------------------------------
// Templates. @NAME@ is the plugin name, @CLASS@ its CamelCase form, @UPPER@
// its upper-case form, @SOURCE@ the source file name.

constexpr const char* kCppSource = R"kiln(// @NAME@: a Kiln processor (C++), scaffolded by `kilnctl new-plugin`.
//
// For each date D it writes <output_dir>/@NAME@/D.txt holding D's day of the
// month times `scale`. Replace the body of each phase with your own work; keep
// the contracts (docs/sdk-guide.md in Kiln):
//   - idempotent per partition: a rerun of D replaces D's output, written to a
//     temporary file and renamed into place;
//   - a dry run computes and validates but writes nothing;
//   - check run.host().cancelled() in long loops and stop soon after;
//   - fail by throwing (kiln::Error); the SDK turns it into an error status.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <kiln/processor.hpp>

namespace {

class @CLASS@ final : public kiln::Processor {
 public:
  // Options arrive checked against the schema below; reject bad combinations.
  void configure(const kiln::Options& options, const kiln::Host&) override {
    output_dir_ = std::string(options.string("output_dir"));
    scale_ = options.integer("scale");
    if (scale_ < 1 || scale_ > 1000) {
      throw kiln::Error("scale must be between 1 and 1000, found " + std::to_string(scale_));
    }
  }

  // Open clients and resources once per instance.
  void init(const kiln::Host& host) override {
    std::error_code ec;
    std::filesystem::create_directories(dir(), ec);
    if (ec) throw kiln::Error("cannot create " + dir() + ": " + ec.message());
    host.debug("writing to " + dir());
  }

  void extract(kiln::Run& run) override {
    run.host().check_cancelled();
    const std::string date(*run.partition());  // "YYYY-MM-DD": the plugin is partitioned by date
    day_ = std::stoi(date.substr(8, 2));
    run.host().add_records(1);
  }

  void validate(kiln::Run&) override {
    if (day_ < 1 || day_ > 31) throw kiln::Error("day of month out of range: " + std::to_string(day_));
  }

  void transform(kiln::Run& run) override {
    value_ = day_ * scale_;
    run.host().progress(1, 1);
  }

  void save(kiln::Run& run) override {
    if (run.dry_run()) return;
    const std::string path = dir() + "/" + std::string(*run.partition()) + ".txt";
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << value_ << "\n";
      if (!out.flush()) throw kiln::Error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw kiln::Error("cannot rename " + tmp + " to " + path);
    run.host().add_records(1);
  }

  void post_process(kiln::Run& run) override {
    run.host().info("wrote " + std::to_string(value_) + " for " + std::string(*run.partition()));
  }

  void teardown(const kiln::Host&) override {}

 private:
  std::string dir() const { return output_dir_ + "/@NAME@"; }

  std::string output_dir_;
  int64_t scale_ = 1;
  int64_t day_ = 0;
  int64_t value_ = 0;
};

const kiln_option_spec_t kOptions[] = {
    {"output_dir", KILN_OPTION_STRING, 1, nullptr, "directory the daily files are written under"},
    {"scale", KILN_OPTION_INT, 0, "1", "multiplier applied to the day of the month (1..1000)"},
};

}  // namespace

KILN_PLUGIN(@CLASS@, "@NAME@", "0.1.0", KILN_CAP_PARTITIONED_BY_DATE, kOptions)
)kiln";

constexpr const char* kCSource = R"kiln(/*
 * @NAME@: a Kiln processor in plain C, scaffolded by `kilnctl new-plugin`.
 *
 * For each date D it writes <output_dir>/@NAME@/D.txt holding D's day of the
 * month times `scale`. Replace the body of each phase with your own work; keep
 * the contracts (docs/sdk-guide.md in Kiln):
 *   - idempotent per partition: write to a temporary file, then rename;
 *   - a dry run computes and validates but writes nothing;
 *   - poll run->host->cancelled() in long loops and return KILN_ERROR soon after;
 *   - fail by writing a one-line reason into `error` and returning KILN_ERROR.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kiln/plugin.h>

typedef struct {
  char dir[2048];
  int64_t scale;
  int64_t day;
  int64_t value;
} @NAME@_t;

static kiln_status_t fail(kiln_message_t *error, const char *what, const char *path) {
  snprintf(error->text, sizeof error->text, "%s %.900s: %s", what, path, strerror(errno));
  return KILN_ERROR;
}

static kiln_status_t p_configure(const kiln_host_t *host, const kiln_option_value_t *options, uint32_t count,
                                 void **instance, kiln_message_t *error) {
  @NAME@_t *p = calloc(1, sizeof *p);
  const char *output_dir = "";
  uint32_t i;
  (void)host;
  if (p == NULL) {
    snprintf(error->text, sizeof error->text, "out of memory");
    return KILN_ERROR;
  }
  /* The host checked names and types against the schema below and filled defaults. */
  for (i = 0; i < count; ++i) {
    if (strcmp(options[i].name, "output_dir") == 0) output_dir = options[i].as.s;
    if (strcmp(options[i].name, "scale") == 0) p->scale = options[i].as.i;
  }
  if (p->scale < 1 || p->scale > 1000) {
    snprintf(error->text, sizeof error->text, "scale must be between 1 and 1000, found %lld", (long long)p->scale);
    free(p);
    return KILN_ERROR;
  }
  if (strlen(output_dir) + sizeof "/@NAME@" > sizeof p->dir) {
    snprintf(error->text, sizeof error->text, "output_dir is longer than %zu bytes", sizeof p->dir - 64);
    free(p);
    return KILN_ERROR;
  }
  snprintf(p->dir, sizeof p->dir, "%s/@NAME@", output_dir);
  *instance = p;
  return KILN_OK;
}

static kiln_status_t p_init(void *instance, const kiln_host_t *host, kiln_message_t *error) {
  @NAME@_t *p = instance;
  char parent[2048];
  char *slash;
  (void)host;
  snprintf(parent, sizeof parent, "%s", p->dir);
  slash = strrchr(parent, '/');
  if (slash != NULL && slash != parent) *slash = '\0';
  if (mkdir(parent, 0755) != 0 && errno != EEXIST) return fail(error, "cannot create", parent);
  if (mkdir(p->dir, 0755) != 0 && errno != EEXIST) return fail(error, "cannot create", p->dir);
  return KILN_OK;
}

static kiln_status_t p_extract(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  @NAME@_t *p = instance;
  if (run->host->cancelled(run->host->ctx)) {
    snprintf(error->text, sizeof error->text, "cancelled");
    return KILN_ERROR;
  }
  p->day = atoi(run->partition + 8); /* "YYYY-MM-DD": the plugin is partitioned by date */
  run->host->add_records(run->host->ctx, 1);
  return KILN_OK;
}

static kiln_status_t p_validate(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  @NAME@_t *p = instance;
  (void)run;
  if (p->day < 1 || p->day > 31) {
    snprintf(error->text, sizeof error->text, "day of month out of range: %lld", (long long)p->day);
    return KILN_ERROR;
  }
  return KILN_OK;
}

static kiln_status_t p_transform(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  @NAME@_t *p = instance;
  (void)error;
  p->value = p->day * p->scale;
  run->host->progress(run->host->ctx, 1, 1);
  return KILN_OK;
}

static kiln_status_t p_save(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  @NAME@_t *p = instance;
  char path[2200], tmp[2210];
  FILE *out;
  if (run->dry_run) return KILN_OK;
  snprintf(path, sizeof path, "%s/%s.txt", p->dir, run->partition);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  out = fopen(tmp, "w");
  if (out == NULL) return fail(error, "cannot write", tmp);
  fprintf(out, "%lld\n", (long long)p->value);
  if (fclose(out) != 0) return fail(error, "cannot write", tmp);
  if (rename(tmp, path) != 0) return fail(error, "cannot rename to", path);
  run->host->add_records(run->host->ctx, 1);
  return KILN_OK;
}

static kiln_status_t p_post_process(void *instance, const kiln_run_t *run, kiln_message_t *error) {
  @NAME@_t *p = instance;
  char msg[128];
  (void)error;
  snprintf(msg, sizeof msg, "wrote %lld for %s", (long long)p->value, run->partition);
  run->host->log(run->host->ctx, KILN_LOG_INFO, msg);
  return KILN_OK;
}

static void p_teardown(void *instance, const kiln_host_t *host) {
  (void)host;
  free(instance);
}

static const kiln_option_spec_t options[] = {
    {"output_dir", KILN_OPTION_STRING, 1, NULL, "directory the daily files are written under"},
    {"scale", KILN_OPTION_INT, 0, "1", "multiplier applied to the day of the month (1..1000)"},
};

static const kiln_plugin_descriptor_t descriptor = {
    KILN_ABI_MAGIC, KILN_ABI_MAJOR, KILN_ABI_MINOR, (uint32_t)sizeof(kiln_plugin_descriptor_t),
    KILN_BUILD_SIGNATURE_THIS,
    "@NAME@", "0.1.0", KILN_CAP_PARTITIONED_BY_DATE,
    options, sizeof options / sizeof options[0], 0,
    p_configure, p_init, p_extract, p_validate, p_transform, p_save, p_post_process, p_teardown,
};

KILN_PLUGIN_ENTRY { return &descriptor; }
)kiln";

constexpr const char* kCMakeLists = R"kiln(# @NAME@: a Kiln plugin, built out of tree against an installed Kiln.
#   cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH=/path/to/kiln/prefix
#   cmake --build build && ctest --test-dir build --output-on-failure
cmake_minimum_required(VERSION 3.20)
project(@NAME@ VERSION 0.1.0 LANGUAGES C CXX)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_C_STANDARD 99)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo)
endif()

# Kiln::sdk, Kiln::testing, kiln_add_plugin(), kiln_add_plugin_test().
# Any Kiln 1.x works; a Kiln 2 install is refused here, at configure time.
find_package(Kiln 1 CONFIG REQUIRED)

# @NAME@.so: hidden visibility, no STB_GNU_UNIQUE symbols, no undefined
# symbols: loadable, and hot-swappable, by kilnd.
kiln_add_plugin(@NAME@ SOURCES @SOURCE@)
target_compile_options(@NAME@ PRIVATE -Wall -Wextra)

# The conformance test: loads @NAME@.so through Kiln's real loader (the
# installed kilnctl) and checks the lifecycle contracts. Needs GoogleTest.
option(@UPPER@_BUILD_TESTS "Build the conformance test (needs GoogleTest)" ON)
if(@UPPER@_BUILD_TESTS)
  enable_testing()
  kiln_add_plugin_test(@NAME@_test SOURCES tests/@NAME@_test.cc PLUGIN @NAME@)
endif()
)kiln";

constexpr const char* kTest = R"kiln(// @NAME@'s conformance test: Kiln::testing loads @NAME@.so through the real
// loader and run path (the installed kilnctl) and checks the contracts every
// plugin must keep. Add your own TEST_F(@CLASS@Conformance, ...) below.
#include <kiln/testing.hpp>

// "{tmp}" is a fresh directory per test.
KILN_CONFORMANCE_TESTS(@CLASS@, {
    .dates = {"2025-01-01", "2025-01-31", "2025-02-28"},
    .options = {{"output_dir", "{tmp}/out"}},
    .output_root = "{tmp}/out",
    .rejected_options = {{"scale", "0"}, {"scale", "1001"}, {"scale", "many"}},
    .failing_options = {{"output_dir", "/dev/null/cannot_create"}},
});

TEST_F(@CLASS@Conformance, WritesDayOfMonthTimesScale) {
  const kiln::testing::RunOutcome r = RunDay("2025-01-15", {{"scale", "3"}});
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(r.records(), 2u) << r.summary();  // one in extract, one in save
  EXPECT_EQ(kiln::testing::ReadFile(tmp() + "/out/@NAME@/2025-01-15.txt"), "45\n");
}

TEST_F(@CLASS@Conformance, RangeRunsEveryDay) {
  const kiln::testing::RunOutcome r =
      kiln::testing::RunRange(plugin(), "2025-03-01", "2025-03-03", {{"output_dir", tmp() + "/out"}});
  ASSERT_TRUE(r.ok()) << r.summary();
  ASSERT_EQ(r.days.size(), 3u);
  EXPECT_EQ(kiln::testing::ReadFile(tmp() + "/out/@NAME@/2025-03-03.txt"), "3\n");
}
)kiln";

constexpr const char* kReadme = R"kiln(# @NAME@

A Kiln data-processor plugin in @LANG@, scaffolded by `kilnctl new-plugin`.
For each date D it writes `<output_dir>/@NAME@/D.txt` holding D's day of the month times `scale`:
replace that with your own work in `@SOURCE@`.

| File | |
|---|---|
| `@SOURCE@` | the plugin: options schema, the eight lifecycle functions |
| `CMakeLists.txt` | `find_package(Kiln 1)`, `kiln_add_plugin`, `kiln_add_plugin_test` |
| `tests/@NAME@_test.cc` | the conformance test (`Kiln::testing`) plus your own checks |

## Build and test

Needs an installed Kiln 1.x (`cmake --install` of Kiln), CMake 3.20+, a C/C++ compiler and
GoogleTest.

```sh
cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH=/path/to/kiln/prefix
cmake --build build
ctest --test-dir build --output-on-failure
```

The test loads `build/@NAME@.so` through Kiln's real loader and run path (the installed
`kilnctl`): every required method present, each fixture day succeeds with all five phases,
a rerun of a day leaves the same output (idempotency), a dry run writes nothing, bad options are
refused, a failing configuration fails cleanly.

## Verify and run

```sh
kilnctl verify build/@NAME@.so
kilnctl run build/@NAME@.so --date 2025-01-15 -o output_dir=/tmp/out -o scale=3
cat /tmp/out/@NAME@/2025-01-15.txt   # 45
```

## Load it into kilnd

```toml
[daemon]
plugin_dirs = ["/path/to/@NAME@/build"]   # searched for @NAME@.so
state_dir = "state"

[[processor]]
name = "@NAME@"
plugin = "@NAME@"
schedule = "0 6 * * *"
options = { output_dir = "/var/lib/kiln/out", scale = 1 }
```

`kilnd --check-config --config kiln.toml` checks the options against the plugin's schema, then
`kilnd --config kiln.toml` runs it; by default each processor runs in its own `kiln-worker`
process. Plugins are built with `-fvisibility=hidden`, `-fno-gnu-unique` and
`-Wl,--no-undefined` (`kiln_add_plugin` does it) so kilnd can hot-swap them: replace the `.so`
by writing a new file and renaming it over the old one, never by writing in place.
)kiln";

constexpr const char* kGitignore = "build/\n";

// ---------------------------------------------------------------------------

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string CamelCase(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string Expand(std::string text, const std::vector<std::pair<std::string, std::string>>& vars) {
  for (const auto& [key, value] : vars) {
    for (size_t at = 0; (at = text.find(key, at)) != std::string::npos; at += value.size()) {
      text.replace(at, key.size(), value);
    }
  }
  return text;
}

struct NewPluginArgs {
  std::string name;
  std::string lang = "cpp";
  std::string dir;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "kilnctl new-plugin: %s\n", message.c_str());
  return kExitUsage;
}

int Execute(const NewPluginArgs& a) {
  namespace fs = std::filesystem;
  if (!ValidName(a.name)) {
    return Usage("invalid plugin name '" + a.name + "': expected [a-z][a-z0-9_]{0,63}");
  }
  if (a.lang != "cpp" && a.lang != "c") return Usage("--lang '" + a.lang + "': expected cpp or c");
  const fs::path dir = a.dir.empty() ? fs::path(a.name) : fs::path(a.dir);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return Usage("'" + dir.string() + "' exists and is not a directory");
    if (!fs::is_empty(dir, ec)) return Usage("directory '" + dir.string() + "' exists and is not empty");
  }

  const bool c = a.lang == "c";
  const std::string source = a.name + (c ? ".c" : ".cc");
  std::string upper;
  for (char ch : a.name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"@NAME@", a.name}, {"@CLASS@", CamelCase(a.name)}, {"@UPPER@", upper},
      {"@SOURCE@", source}, {"@LANG@", c ? "plain C" : "C++"}};
  const std::vector<std::pair<fs::path, const char*>> files = {
      {source, c ? kCSource : kCppSource},
      {"CMakeLists.txt", kCMakeLists},
      {fs::path("tests") / (a.name + "_test.cc"), kTest},
      {"README.md", kReadme},
      {".gitignore", kGitignore},
  };

  fs::create_directories(dir / "tests", ec);
  if (ec) {
    std::fprintf(stderr, "kilnctl new-plugin: cannot create %s: %s\n", (dir / "tests").c_str(), ec.message().c_str());
    return kExitFailed;
  }
  for (const auto& [rel, text] : files) {
    const fs::path path = dir / rel;
    std::ofstream out(path, std::ios::trunc);
    out << Expand(text, vars);
    out.close();
    if (!out) {
      std::fprintf(stderr, "kilnctl new-plugin: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
      return kExitFailed;
    }
  }
  std::printf("created %s plugin '%s' in %s:\n", c ? "C" : "C++", a.name.c_str(), dir.c_str());
  for (const auto& [rel, text] : files) std::printf("  %s\n", (dir / rel).c_str());
  std::printf(
      "next:\n"
      "  cmake -S %s -B %s/build -G Ninja -DCMAKE_PREFIX_PATH=<kiln prefix>\n"
      "  cmake --build %s/build && ctest --test-dir %s/build --output-on-failure\n",
      dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str());
  return kExitOk;
}

}  // namespace

Command AddNewPlugin(CLI::App& app) {
  auto* cmd = app.add_subcommand("new-plugin", "Scaffold a plugin project that builds against an installed Kiln");
  auto a = std::make_shared<NewPluginArgs>();
  cmd->add_option("name", a->name, "Plugin name, [a-z][a-z0-9_]{0,63}")->required();
  cmd->add_option("--lang", a->lang, "cpp (default) or c");
  cmd->add_option("--dir", a->dir, "Project directory to create (default: ./NAME); must be absent or empty");
  return {cmd, [a] { return Execute(*a); }};
}

}  // namespace kiln::ctl
