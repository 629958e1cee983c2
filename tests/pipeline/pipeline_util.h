// Helpers for the reference pipeline's tests: run a built plugin in-process
// through the host's loader and run path (what kilnd and `kilnctl run` do),
// temporary directories, and SQLite queries.
#ifndef KILN_TESTS_PIPELINE_PIPELINE_UTIL_H_
#define KILN_TESTS_PIPELINE_PIPELINE_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/base/date.h"
#include "host/loader/loader.h"
#include "host/run/instance.h"
#include "host/run/option_values.h"
#include "plugins/pipeline_common/sqlite_db.h"

namespace kiln::pipeline_test {

inline std::string PluginPath(const std::string& name) {
  return std::string(KILN_PIPELINE_PLUGIN_DIR) + "/" + name + ".so";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln-pipe-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A configured, initialised instance of a plugin, or the error that stopped it.
struct Opened {
  std::shared_ptr<const Plugin> plugin;
  std::unique_ptr<Instance> instance;
  Status status;
};

inline Opened OpenPlugin(const std::string& name, const std::vector<std::string>& options) {
  Loader loader;  // a fresh one: a loader refuses a second plugin of the same name
  Opened o;
  o.status = loader.Load(PluginPath(name), &o.plugin);
  if (!o.status.ok()) return o;
  std::vector<OptionInput> inputs;
  for (const std::string& text : options) {
    OptionInput in;
    o.status = ParseOptionAssignment(text, &in);
    if (!o.status.ok()) return o;
    inputs.push_back(in);
  }
  BoundOptions bound;
  o.status = BoundOptions::Bind(o.plugin->name(), o.plugin->info().options, inputs, &bound);
  if (!o.status.ok()) return o;
  o.status = Instance::Open(o.plugin, "proc", bound, &o.instance);
  return o;
}

inline RunResult RunDay(Instance& instance, const std::string& day, bool dry_run = false) {
  RunRequest req;
  req.run_id = "test-" + day;
  Day d;
  EXPECT_TRUE(ParseDay(day, &d).ok()) << day;
  req.partition = d;
  req.dry_run = dry_run;
  RunResult r;
  instance.Run(req, &r);
  return r;
}

// Opens, runs one day, and returns the run's status ("" when it succeeded).
inline std::string RunOnce(const std::string& plugin, const std::vector<std::string>& options, const std::string& day) {
  Opened o = OpenPlugin(plugin, options);
  if (!o.status.ok()) return o.status.message();
  RunResult r = RunDay(*o.instance, day);
  return r.status.ok() ? "" : r.status.message();
}

inline pipeline::Db OpenDb(const std::string& path) {
  return pipeline::Db::Open(path, pipeline::Db::Mode::kReadWrite, "test database");
}

// Every row of `sql`, its columns as text ("NULL" for NULL) joined by '|'.
inline std::vector<std::string> Rows(const std::string& db_path, const std::string& sql) {
  pipeline::Db db = OpenDb(db_path);
  std::vector<std::string> out;
  auto collect = [](void* ctx, int n, char** values, char**) {
    std::string row;
    for (int i = 0; i < n; ++i) row += (i ? "|" : "") + std::string(values[i] ? values[i] : "NULL");
    static_cast<std::vector<std::string>*>(ctx)->push_back(row);
    return 0;
  };
  char* err = nullptr;
  if (sqlite3_exec(db.get(), sql.c_str(), collect, &out, &err) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << (err ? err : "?");
    sqlite3_free(err);
  }
  return out;
}

inline int64_t Count(const std::string& db_path, const std::string& sql) {
  pipeline::Db db = OpenDb(db_path);
  pipeline::Stmt s = db.Prepare(sql);
  return s.Step() ? s.Int(0) : -1;
}

}  // namespace kiln::pipeline_test

#endif  // KILN_TESTS_PIPELINE_PIPELINE_UTIL_H_
