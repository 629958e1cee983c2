// kiln/testing.hpp: the conformance kit for plugin authors (Kiln::testing).
//
// Header-only GoogleTest helpers that load a plugin through the host's REAL
// loader and run path: they drive the installed `kilnctl` (`kilnctl verify
// --json`, `kilnctl run ... --json`), which is the same loader, option binding
// and Instance::Run that kilnd uses, and parse its JSON. Nothing here
// reimplements the host, so what passes here loads in kilnd.
//
// One test file is enough:
//
//   #include <kiln/testing.hpp>
//
//   KILN_CONFORMANCE_TESTS(MyPlugin, {
//       .dates = {"2025-01-01", "2025-02-28"},          // fixture partitions
//       .options = {{"output_dir", "{tmp}/out"}},       // {tmp}: a fresh directory per test
//       .output_root = "{tmp}/out",                     // checked for idempotency and dry runs
//       .rejected_options = {{"scale", "0"}},           // configure must refuse these
//   });
//
//   TEST_F(MyPluginConformance, WritesTheCount) {       // add your own checks
//     kiln::testing::RunOutcome r = RunDay("2025-01-15");
//     ASSERT_TRUE(r.ok()) << r.summary();
//     EXPECT_EQ(ReadFile(tmp() + "/out/my_plugin/2025-01-15.txt"), "15\n");
//   }
//
// Build it with kiln_add_plugin_test(NAME SOURCES ... PLUGIN target), which
// defines KILN_PLUGIN_PATH (the built .so) and KILN_KILNCTL (the kilnctl
// beside the installed package). At run time the environment variables
// KILN_PLUGIN_PATH and KILN_KILNCTL override both. Link GTest::gtest_main, or
// write your own main.
//
// Free functions (usable without the fixture):
//   Verify(path)                          AssertionResult: loads, all 8 methods ok
//   Inspect(path)                         the `kilnctl verify --json` report
//   RunDay(path, date, options)           one partition; phases, records, status
//   RunOnce(path, options)                an unpartitioned plugin's run
//   RunRange(path, start, end, options)   several partitions, --keep-going
//   OptionRejected(path, name, value, base_options)   AssertionResult
//   RunFails(path, date, options, substring)          AssertionResult
// What the kit cannot observe through kilnctl: progress reports and host log
// lines (kilnctl prints them to its log, not to --json), and cancellation
// (docs/sdk-guide.md says how to test those in-process).
#ifndef KILN_TESTING_HPP
#define KILN_TESTING_HPP

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/plugin.h"

extern char** environ;

namespace kiln::testing {

// ---------------------------------------------------------------------------
// A minimal JSON reader, enough for kilnctl's output (no dependency for the
// author to install).
class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_string() const { return type_ == Type::kString; }

  bool boolean() const { return type_ == Type::kBool && bool_; }
  double number() const { return type_ == Type::kNumber ? number_ : 0; }
  const std::string& string() const { return string_; }  // "" unless a string
  const std::vector<Json>& array() const { return array_; }
  const std::vector<std::pair<std::string, Json>>& members() const { return object_; }
  size_t size() const { return type_ == Type::kArray ? array_.size() : object_.size(); }
  bool contains(const std::string& key) const { return Find(key) != nullptr; }
  // A missing key or index reads as null.
  const Json& operator[](const std::string& key) const {
    const Json* j = Find(key);
    return j != nullptr ? *j : Null();
  }
  const Json& operator[](size_t i) const { return i < array_.size() ? array_[i] : Null(); }

  // Parses `text`; on error returns false and sets *error.
  static bool Parse(const std::string& text, Json* out, std::string* error) {
    size_t pos = 0;
    Json j;
    if (!ParseValue(text, &pos, &j, error, 0)) return false;
    SkipSpace(text, &pos);
    if (pos != text.size()) {
      *error = "trailing characters at offset " + std::to_string(pos);
      return false;
    }
    *out = std::move(j);
    return true;
  }

 private:
  const Json* Find(const std::string& key) const {
    for (const auto& kv : object_) {
      if (kv.first == key) return &kv.second;
    }
    return nullptr;
  }
  static const Json& Null() {
    static const Json null;
    return null;
  }
  static void SkipSpace(const std::string& s, size_t* pos) {
    while (*pos < s.size() && (s[*pos] == ' ' || s[*pos] == '\n' || s[*pos] == '\r' || s[*pos] == '\t')) ++*pos;
  }
  static bool Fail(std::string* error, const std::string& what, size_t pos) {
    *error = what + " at offset " + std::to_string(pos);
    return false;
  }
  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  static bool Hex4(const std::string& s, size_t pos, uint32_t* out) {
    if (pos + 4 > s.size()) return false;
    *out = 0;
    for (size_t i = pos; i < pos + 4; ++i) {
      const char c = s[i];
      *out <<= 4;
      if (c >= '0' && c <= '9') *out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') *out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') *out |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  static bool ParseString(const std::string& s, size_t* pos, std::string* out, std::string* error) {
    ++*pos;  // opening quote
    while (*pos < s.size()) {
      const char c = s[(*pos)++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (*pos >= s.size()) break;
      const char e = s[(*pos)++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(s, *pos, &cp)) return Fail(error, "bad \\u escape", *pos);
          *pos += 4;
          if (cp >= 0xD800 && cp < 0xDC00 && *pos + 6 <= s.size() && s[*pos] == '\\' && s[*pos + 1] == 'u') {
            uint32_t low;
            if (Hex4(s, *pos + 2, &low) && low >= 0xDC00 && low < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              *pos += 6;
            }
          }
          AppendUtf8(out, cp);
          break;
        }
        default: return Fail(error, "bad escape", *pos - 1);
      }
    }
    return Fail(error, "unterminated string", *pos);
  }
  static bool ParseValue(const std::string& s, size_t* pos, Json* out, std::string* error, int depth) {
    if (depth > 64) return Fail(error, "nesting too deep", *pos);
    SkipSpace(s, pos);
    if (*pos >= s.size()) return Fail(error, "unexpected end", *pos);
    const char c = s[*pos];
    if (c == '{') {
      out->type_ = Type::kObject;
      ++*pos;
      SkipSpace(s, pos);
      if (*pos < s.size() && s[*pos] == '}') {
        ++*pos;
        return true;
      }
      for (;;) {
        SkipSpace(s, pos);
        if (*pos >= s.size() || s[*pos] != '"') return Fail(error, "expected a key", *pos);
        std::string key;
        if (!ParseString(s, pos, &key, error)) return false;
        SkipSpace(s, pos);
        if (*pos >= s.size() || s[*pos] != ':') return Fail(error, "expected ':'", *pos);
        ++*pos;
        Json value;
        if (!ParseValue(s, pos, &value, error, depth + 1)) return false;
        out->object_.emplace_back(std::move(key), std::move(value));
        SkipSpace(s, pos);
        if (*pos < s.size() && s[*pos] == ',') {
          ++*pos;
          continue;
        }
        if (*pos < s.size() && s[*pos] == '}') {
          ++*pos;
          return true;
        }
        return Fail(error, "expected ',' or '}'", *pos);
      }
    }
    if (c == '[') {
      out->type_ = Type::kArray;
      ++*pos;
      SkipSpace(s, pos);
      if (*pos < s.size() && s[*pos] == ']') {
        ++*pos;
        return true;
      }
      for (;;) {
        Json value;
        if (!ParseValue(s, pos, &value, error, depth + 1)) return false;
        out->array_.push_back(std::move(value));
        SkipSpace(s, pos);
        if (*pos < s.size() && s[*pos] == ',') {
          ++*pos;
          continue;
        }
        if (*pos < s.size() && s[*pos] == ']') {
          ++*pos;
          return true;
        }
        return Fail(error, "expected ',' or ']'", *pos);
      }
    }
    if (c == '"') {
      out->type_ = Type::kString;
      return ParseString(s, pos, &out->string_, error);
    }
    auto literal = [&](const char* word) {
      const size_t n = std::strlen(word);
      if (s.compare(*pos, n, word) != 0) return false;
      *pos += n;
      return true;
    };
    if (literal("true")) {
      out->type_ = Type::kBool;
      out->bool_ = true;
      return true;
    }
    if (literal("false")) {
      out->type_ = Type::kBool;
      return true;
    }
    if (literal("null")) return true;
    const char* begin = s.c_str() + *pos;
    char* end = nullptr;
    const double d = std::strtod(begin, &end);
    if (end == begin) return Fail(error, "unexpected character", *pos);
    *pos += static_cast<size_t>(end - begin);
    out->type_ = Type::kNumber;
    out->number_ = d;
    return true;
  }

  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> array_;
  std::vector<std::pair<std::string, Json>> object_;
};

// ---------------------------------------------------------------------------
// Where things are.

// The kilnctl the kit drives: $KILN_KILNCTL, else the compile-time KILN_KILNCTL
// (set by Kiln::testing to the kilnctl installed with the package).
inline std::string Kilnctl() {
  if (const char* env = std::getenv("KILN_KILNCTL"); env != nullptr && *env != '\0') return env;
#ifdef KILN_KILNCTL
  return KILN_KILNCTL;
#else
  return "kilnctl";  // from PATH
#endif
}

// The plugin under test: $KILN_PLUGIN_PATH, else the compile-time
// KILN_PLUGIN_PATH (set by kiln_add_plugin_test), else "".
inline std::string PluginPath() {
  if (const char* env = std::getenv("KILN_PLUGIN_PATH"); env != nullptr && *env != '\0') return env;
#ifdef KILN_PLUGIN_PATH
  return KILN_PLUGIN_PATH;
#else
  return "";
#endif
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---------------------------------------------------------------------------
// Running kilnctl.

struct CommandResult {
  int exit_code = -1;  // the exit status; 128+N when killed by signal N; -1 when it could not start
  std::string out;     // stdout
  std::string err;     // stderr
  std::string command; // the command line, for messages
};

// Runs argv[0] (looked up in PATH when it has no '/'), capturing its output.
inline CommandResult RunCommand(const std::vector<std::string>& argv) {
  CommandResult r;
  for (const std::string& a : argv) r.command += (r.command.empty() ? "" : " ") + a;
  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/kiln-testing-XXXXXX";
  std::string out_path = base, err_path = base;
  const int out_fd = mkstemp(out_path.data());
  const int err_fd = mkstemp(err_path.data());
  if (out_fd < 0 || err_fd < 0) {
    r.err = std::string("cannot create a temporary file: ") + std::strerror(errno);
    if (out_fd >= 0) close(out_fd), unlink(out_path.c_str());
    if (err_fd >= 0) close(err_fd), unlink(err_path.c_str());
    return r;
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_fd);
  close(err_fd);
  if (rc != 0) {
    r.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
  } else {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadFile(out_path);
    r.err = ReadFile(err_path);
  }
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return r;
}

// ---------------------------------------------------------------------------
// What `kilnctl verify --json` reports about a plugin.

inline constexpr const char* kRequiredMethods[] = {"configure", "init",      "extract",      "validate",
                                                   "transform", "save",      "post_process", "teardown"};

struct OptionInfo {
  std::string name, type, default_value, doc;
  bool required = false;
};

struct PluginReport {
  bool loaded = false;  // kilnctl could run and its JSON parsed
  bool ok = false;      // the loader accepted the plugin
  std::string error;    // the loader's refusal, or why there is no report
  std::string name, version, sdk, compiler, cxx_runtime;
  bool partitioned = false;
  std::vector<OptionInfo> options;
  std::map<std::string, std::string> methods;  // "extract" -> "ok" | "missing"
  std::vector<std::string> gnu_unique_symbols;
  CommandResult command;

  const OptionInfo* option(const std::string& n) const {
    for (const OptionInfo& o : options) {
      if (o.name == n) return &o;
    }
    return nullptr;
  }
};

inline PluginReport Inspect(const std::string& path) {
  PluginReport p;
  p.command = RunCommand({Kilnctl(), "verify", "--json", path});
  Json all;
  std::string error;
  if (p.command.exit_code < 0 || !Json::Parse(p.command.out, &all, &error) || !all.is_array() || all.size() != 1) {
    p.error = "no report from `" + p.command.command + "` (exit " + std::to_string(p.command.exit_code) +
              "): " + (error.empty() ? "" : error + "; ") + p.command.err;
    return p;
  }
  const Json& j = all[0];
  p.loaded = true;
  p.ok = j["ok"].boolean();
  p.error = j["error"].string();
  p.name = j["name"].string();
  p.version = j["version"].string();
  p.sdk = j["sdk"].string();
  p.compiler = j["compiler"].string();
  p.cxx_runtime = j["cxx_runtime"].string();
  for (const Json& c : j["capabilities"].array()) {
    if (c.string() == "partitioned_by_date") p.partitioned = true;
  }
  for (const Json& o : j["options"].array()) {
    p.options.push_back({o["name"].string(), o["type"].string(), o["default"].string(), o["doc"].string(),
                         o["required"].boolean()});
  }
  for (const auto& kv : j["methods"].members()) p.methods[kv.first] = kv.second.string();
  for (const Json& s : j["gnu_unique_symbols"].array()) p.gnu_unique_symbols.push_back(s.string());
  return p;
}

// Passes when the real loader accepts `path` and finds every required method;
// otherwise fails listing every problem. STB_GNU_UNIQUE symbols (which make
// hot swap impossible) fail it too unless allow_gnu_unique.
inline ::testing::AssertionResult Verify(const std::string& path, bool allow_gnu_unique = false) {
  const PluginReport p = Inspect(path);
  std::vector<std::string> problems;
  if (!p.loaded) {
    problems.push_back(p.error);
  } else {
    if (!p.ok) problems.push_back("refused by the loader: " + p.error);
    for (const char* m : kRequiredMethods) {
      auto it = p.methods.find(m);
      if (it == p.methods.end()) {
        if (p.ok) problems.push_back(std::string("method ") + m + ": not reported");
      } else if (it->second != "ok") {
        problems.push_back(std::string("method ") + m + ": " + it->second);
      }
    }
    if (!allow_gnu_unique && !p.gnu_unique_symbols.empty()) {
      problems.push_back(std::to_string(p.gnu_unique_symbols.size()) + " STB_GNU_UNIQUE symbol(s), first '" +
                         p.gnu_unique_symbols[0] + "': the image can never be unloaded (build with -fno-gnu-unique)");
    }
    if (p.ok && p.command.exit_code != 0) {
      problems.push_back("kilnctl verify exited " + std::to_string(p.command.exit_code));
    }
  }
  if (problems.empty()) return ::testing::AssertionSuccess() << path << " loads: " << p.name << " " << p.version;
  ::testing::AssertionResult r = ::testing::AssertionFailure();
  r << "kilnctl verify " << path << ":";
  for (const std::string& s : problems) r << "\n  - " << s;
  return r;
}

// ---------------------------------------------------------------------------
// Runs through `kilnctl run --json`.

using Options = std::vector<std::pair<std::string, std::string>>;  // name -> value, as text

struct PhaseOutcome {
  std::string name;
  double ms = 0;
  uint64_t records = 0;
  bool ok = false;
};

struct DayOutcome {
  std::string partition;  // "" for an unpartitioned run
  std::string status;     // succeeded | failed | cancelled
  std::string error;
  uint64_t records = 0;
  std::vector<PhaseOutcome> phases;  // the run phases that ran, in order

  bool succeeded() const { return status == "succeeded"; }
  const PhaseOutcome* phase(const std::string& n) const {
    for (const PhaseOutcome& p : phases) {
      if (p.name == n) return &p;
    }
    return nullptr;
  }
};

struct RunOutcome {
  CommandResult command;
  std::vector<DayOutcome> days;  // one per partition that ran

  // kilnctl's exit: 0 all ran and succeeded; 1 a run, configure or init
  // failed, or the loader refused the plugin; 2 bad usage or options the
  // host rejected against the schema.
  int exit_code() const { return command.exit_code; }
  bool ok() const {
    if (command.exit_code != 0 || days.empty()) return false;
    for (const DayOutcome& d : days) {
      if (!d.succeeded()) return false;
    }
    return true;
  }
  bool any_succeeded() const {
    for (const DayOutcome& d : days) {
      if (d.succeeded()) return true;
    }
    return false;
  }
  // The first day (or the only run); a failed outcome with no runs reads as
  // an empty DayOutcome.
  const DayOutcome& day() const {
    static const DayOutcome none;
    return days.empty() ? none : days.front();
  }
  uint64_t records() const {
    uint64_t n = 0;
    for (const DayOutcome& d : days) n += d.records;
    return n;
  }
  // Everything useful when a test fails: the command, exit, errors, phases.
  std::string summary() const {
    std::ostringstream s;
    s << "`" << command.command << "` exited " << command.exit_code;
    for (const DayOutcome& d : days) {
      s << "\n  " << (d.partition.empty() ? "run" : d.partition) << ": " << d.status << ", " << d.records
        << " records";
      if (!d.error.empty()) s << ": " << d.error;
      for (const PhaseOutcome& p : d.phases) {
        s << "\n    " << p.name << (p.ok ? " ok " : " FAILED ") << p.records << " records";
      }
    }
    if (!command.err.empty()) s << "\n  stderr: " << command.err;
    return s.str();
  }
};

struct RunFlags {
  bool dry_run = false;
  bool keep_going = false;
};

inline RunOutcome RunWith(const std::string& path, const std::vector<std::string>& when, const Options& options,
                          RunFlags flags = {}) {
  std::vector<std::string> argv{Kilnctl(), "run", path};
  argv.insert(argv.end(), when.begin(), when.end());
  for (const auto& kv : options) {
    argv.push_back("-o");
    argv.push_back(kv.first + "=" + kv.second);
  }
  if (flags.dry_run) argv.push_back("--dry-run");
  if (flags.keep_going) argv.push_back("--keep-going");
  argv.push_back("--json");
  RunOutcome r;
  r.command = RunCommand(argv);
  Json all;
  std::string error;
  if (!r.command.out.empty() && Json::Parse(r.command.out, &all, &error) && all.is_array()) {
    for (const Json& j : all.array()) {
      DayOutcome d;
      d.partition = j["partition"].string();
      d.status = j["status"].string();
      d.error = j["error"].string();
      d.records = static_cast<uint64_t>(j["records"].number());
      for (const Json& p : j["phases"].array()) {
        d.phases.push_back({p["name"].string(), p["ms"].number(), static_cast<uint64_t>(p["records"].number()),
                            p["ok"].boolean()});
      }
      r.days.push_back(std::move(d));
    }
  }
  return r;
}

// One partition of a date-partitioned plugin.
inline RunOutcome RunDay(const std::string& path, const std::string& date, const Options& options = {},
                         RunFlags flags = {}) {
  return RunWith(path, {"--date", date}, options, flags);
}
// An inclusive range of partitions, in order; add keep_going to go on after a failure.
inline RunOutcome RunRange(const std::string& path, const std::string& start, const std::string& end,
                           const Options& options = {}, RunFlags flags = {}) {
  return RunWith(path, {"--start-date", start, "--end-date", end}, options, flags);
}
// A plugin that is not partitioned by date.
inline RunOutcome RunOnce(const std::string& path, const Options& options = {}, RunFlags flags = {}) {
  return RunWith(path, {}, options, flags);
}

// Passes when setting option `name` to `value` (on top of `base`, which should
// hold every required option) is refused before any run: by the host's schema
// check (kilnctl exits 2) or by the plugin's configure or init (exits 1 with
// no run). A run that starts and then fails is not a refusal. For a
// partitioned plugin a date is supplied.
inline ::testing::AssertionResult OptionRejected(const std::string& path, const std::string& name,
                                                 const std::string& value, const Options& base = {},
                                                 const std::string& date = "2025-01-15") {
  Options options;
  for (const auto& kv : base) {
    if (kv.first != name) options.push_back(kv);
  }
  options.emplace_back(name, value);
  const PluginReport p = Inspect(path);
  if (!p.ok) return ::testing::AssertionFailure() << "the plugin does not load: " << p.error;
  const RunOutcome r = p.partitioned ? RunDay(path, date, options) : RunOnce(path, options);
  if (r.exit_code() == 0 || r.any_succeeded()) {
    return ::testing::AssertionFailure() << "option " << name << "=" << value << " was accepted:\n" << r.summary();
  }
  if (!r.days.empty()) {
    return ::testing::AssertionFailure() << "option " << name << "=" << value
                                         << " was accepted (configure and init passed); a run then failed:\n"
                                         << r.summary();
  }
  if (r.exit_code() != 1 && r.exit_code() != 2) {
    return ::testing::AssertionFailure() << "option " << name << "=" << value
                                         << " ended kilnctl abnormally (a crash is not a refusal):\n"
                                         << r.summary();
  }
  if (r.command.err.empty()) {
    return ::testing::AssertionFailure() << "option " << name << "=" << value
                                         << " was refused without a message:\n" << r.summary();
  }
  return ::testing::AssertionSuccess() << "refused: " << r.command.err;
}

// Passes when a run of `date` with `options` fails (not crashes) with an
// error containing `substring` (any error when empty), and no later phase
// ran after the failing one.
inline ::testing::AssertionResult RunFails(const std::string& path, const std::string& date, const Options& options,
                                           const std::string& substring = "") {
  const RunOutcome r = date.empty() ? RunOnce(path, options) : RunDay(path, date, options);
  if (r.ok() || r.any_succeeded()) return ::testing::AssertionFailure() << "the run succeeded:\n" << r.summary();
  if (r.exit_code() != 1) {
    return ::testing::AssertionFailure() << "expected kilnctl to exit 1 (the run failed), got " << r.exit_code()
                                         << " (2 is a usage or schema error, >128 a crash):\n" << r.summary();
  }
  const std::string message = r.days.empty() ? r.command.err : r.day().error;
  if (!substring.empty() && message.find(substring) == std::string::npos) {
    return ::testing::AssertionFailure() << "the error does not mention '" << substring << "':\n" << r.summary();
  }
  for (const DayOutcome& d : r.days) {
    for (size_t i = 0; i + 1 < d.phases.size(); ++i) {
      if (!d.phases[i].ok) {
        return ::testing::AssertionFailure() << "phase " << d.phases[i + 1].name << " ran after " << d.phases[i].name
                                             << " failed:\n" << r.summary();
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// The fixture and the conformance suite.

// What a plugin's conformance suite checks. In option values and
// output_root, "{tmp}" stands for the test's fresh temporary directory.
struct Conformance {
  std::vector<std::string> dates = {"2025-01-01", "2025-02-28"};  // fixture partitions (ignored if unpartitioned)
  Options options;                   // a valid configuration: every required option
  std::string output_root;           // where the plugin writes; "" skips the output checks
  Options rejected_options;          // each alone (on top of `options`) must be refused
  Options failing_options;           // together (on top of `options`) they make a run fail cleanly
  bool deterministic_records = true; // a rerun of a day reports the same records
};

// Per test: a fresh temporary directory (removed afterwards unless
// KILN_KEEP_TMP is set) and the plugin under test.
class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/kiln-plugin-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp: " << std::strerror(errno);
    tmp_ = tmpl;
    ASSERT_FALSE(plugin().empty()) << "no plugin to test: build with kiln_add_plugin_test(... PLUGIN target) "
                                      "or set KILN_PLUGIN_PATH";
  }
  void TearDown() override {
    if (!tmp_.empty() && std::getenv("KILN_KEEP_TMP") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(tmp_, ec);
    }
  }

  // Override to test another file than KILN_PLUGIN_PATH.
  virtual std::string plugin() const { return PluginPath(); }
  const std::string& tmp() const { return tmp_; }
  // `text` with every "{tmp}" replaced by tmp().
  std::string Expand(std::string text) const {
    for (size_t at; (at = text.find("{tmp}")) != std::string::npos;) text.replace(at, 5, tmp_);
    return text;
  }
  Options Expand(const Options& options) const {
    Options out;
    for (const auto& kv : options) out.emplace_back(kv.first, Expand(kv.second));
    return out;
  }

 private:
  std::string tmp_;
};

// Regular files under `root`, relative path -> contents.
inline std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return files;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      files[std::filesystem::relative(it->path(), root, ec).string()] = ReadFile(it->path().string());
    }
  }
  return files;
}

class ConformanceTest : public PluginTest {
 protected:
  virtual Conformance spec() const = 0;

  Options options() const { return Expand(spec().options); }
  PluginReport report() const { return Inspect(plugin()); }
  // Runs one fixture day (or the one run of an unpartitioned plugin) with the
  // spec's options plus `extra`.
  RunOutcome RunDay(const std::string& date, const Options& extra = {}, RunFlags flags = {}) const {
    Options o = options();
    for (const auto& kv : Expand(extra)) o.push_back(kv);
    return partitioned_ ? ::kiln::testing::RunDay(plugin(), date, o, flags) : RunOnce(plugin(), o, flags);
  }

  void SetUp() override {
    PluginTest::SetUp();
    if (HasFatalFailure()) return;
    const PluginReport p = report();
    ASSERT_TRUE(p.ok) << "the plugin does not load: " << (p.error.empty() ? p.command.err : p.error);
    partitioned_ = p.partitioned;
    dates_ = partitioned_ ? spec().dates : std::vector<std::string>{""};
    ASSERT_FALSE(dates_.empty()) << "Conformance::dates is empty";
  }

  void CheckLoads() { EXPECT_TRUE(Verify(plugin())); }

  void CheckRunsEveryDay() {
    for (const std::string& date : dates_) {
      SCOPED_TRACE("partition " + (date.empty() ? std::string("(none)") : date));
      const RunOutcome r = RunDay(date);
      ASSERT_TRUE(r.ok()) << r.summary();
      ASSERT_EQ(r.days.size(), 1u) << r.summary();
      std::vector<std::string> names;
      for (const PhaseOutcome& p : r.day().phases) {
        names.push_back(p.name);
        EXPECT_TRUE(p.ok) << p.name << " failed in a succeeded run:\n" << r.summary();
      }
      EXPECT_EQ(names, (std::vector<std::string>{"extract", "validate", "transform", "save", "post_process"}))
          << r.summary();
      if (partitioned_) {
        EXPECT_EQ(r.day().partition, date);
      }
    }
  }

  // Idempotency per partition: running a day again replaces its output, it
  // does not add to it.
  void CheckIdempotent() {
    const std::string date = dates_.front();
    const std::string root = Expand(spec().output_root);
    const RunOutcome first = RunDay(date);
    ASSERT_TRUE(first.ok()) << first.summary();
    const auto before = root.empty() ? std::map<std::string, std::string>() : Snapshot(root);
    const RunOutcome second = RunDay(date);
    ASSERT_TRUE(second.ok()) << second.summary();
    if (spec().deterministic_records) {
      EXPECT_EQ(first.records(), second.records()) << "a rerun of " << date << " reported other records\nfirst: "
                                                   << first.summary() << "\nsecond: " << second.summary();
    }
    if (!root.empty()) {
      const auto after = Snapshot(root);
      EXPECT_FALSE(after.empty()) << "a run wrote nothing under output_root " << root;
      EXPECT_EQ(before, after) << "a rerun of " << date << " changed the output under " << root
                               << ": it should replace a partition's output with the same result";
    }
  }

  // A dry run computes and validates but writes nothing.
  void CheckDryRun() {
    const RunOutcome r = RunDay(dates_.front(), {}, RunFlags{true, false});
    ASSERT_TRUE(r.ok()) << r.summary();
    const std::string root = Expand(spec().output_root);
    if (!root.empty()) {
      const auto files = Snapshot(root);
      std::string names;
      for (const auto& kv : files) names += "\n  " + kv.first;
      EXPECT_TRUE(files.empty()) << "a dry run wrote files under " << root << ":" << names;
    }
  }

  void CheckUnknownOptionRejected() {
    const RunOutcome r = RunDay(dates_.front(), {{"kiln_no_such_option", "1"}});
    EXPECT_EQ(r.exit_code(), 2) << r.summary();
    EXPECT_NE(r.command.err.find("unknown option 'kiln_no_such_option'"), std::string::npos) << r.summary();
  }

  void CheckMissingRequiredOptionsRejected() {
    const PluginReport p = report();
    for (const OptionInfo& o : p.options) {
      if (!o.required) continue;
      SCOPED_TRACE("without required option " + o.name);
      Options without;
      for (const auto& kv : options()) {
        if (kv.first != o.name) without.push_back(kv);
      }
      const RunOutcome r = partitioned_ ? ::kiln::testing::RunDay(plugin(), dates_.front(), without)
                                        : RunOnce(plugin(), without);
      EXPECT_EQ(r.exit_code(), 2) << r.summary();
      EXPECT_NE(r.command.err.find("missing required option '" + o.name + "'"), std::string::npos) << r.summary();
    }
  }

  void CheckRejectedOptions() {
    for (const auto& kv : spec().rejected_options) {
      SCOPED_TRACE("option " + kv.first + "=" + kv.second);
      EXPECT_TRUE(OptionRejected(plugin(), kv.first, Expand(kv.second), options(),
                                 partitioned_ ? dates_.front() : std::string("2025-01-15")));
    }
  }

  void CheckFailingRunFailsCleanly() {
    if (spec().failing_options.empty()) {
      GTEST_SKIP() << "no Conformance::failing_options given";
    }
    Options o = options();
    for (const auto& kv : Expand(spec().failing_options)) {
      for (auto& existing : o) {
        if (existing.first == kv.first) existing.first.clear();  // replaced below
      }
      o.push_back(kv);
    }
    Options merged;
    for (const auto& kv : o) {
      if (!kv.first.empty()) merged.push_back(kv);
    }
    EXPECT_TRUE(RunFails(plugin(), partitioned_ ? dates_.front() : std::string(), merged));
  }

  bool partitioned() const { return partitioned_; }
  const std::vector<std::string>& dates() const { return dates_; }

 private:
  bool partitioned_ = false;
  std::vector<std::string> dates_;
};

}  // namespace kiln::testing

// KILN_CONFORMANCE_TESTS(Suite, { .dates = ..., .options = ..., ... })
//
// Defines the fixture SuiteConformance (derived from
// kiln::testing::ConformanceTest; use it in your own TEST_F) and the standard
// tests, each loading the plugin through the real loader via kilnctl:
//   LoadsThroughTheRealLoader     every required method present, no GNU-unique symbols
//   RunsEveryFixtureDay           each date succeeds, all five run phases ok
//   RerunOfADayIsIdempotent       same records, same files under output_root
//   DryRunWritesNothing           succeeds, nothing under output_root
//   UnknownOptionIsRejected       the host's schema check, with its message
//   MissingRequiredOptionsAreRejected
//   RejectedOptionsAreRejected    each of rejected_options is refused
//   FailingRunFailsCleanly        failing_options make the run fail, phases stop
#define KILN_CONFORMANCE_TESTS(Suite, ...)                                                        \
  class Suite##Conformance : public ::kiln::testing::ConformanceTest {                            \
   protected:                                                                                     \
    ::kiln::testing::Conformance spec() const override {                                          \
      return ::kiln::testing::Conformance __VA_ARGS__;                                            \
    }                                                                                             \
  };                                                                                              \
  TEST_F(Suite##Conformance, LoadsThroughTheRealLoader) { CheckLoads(); }                         \
  TEST_F(Suite##Conformance, RunsEveryFixtureDay) { CheckRunsEveryDay(); }                        \
  TEST_F(Suite##Conformance, RerunOfADayIsIdempotent) { CheckIdempotent(); }                      \
  TEST_F(Suite##Conformance, DryRunWritesNothing) { CheckDryRun(); }                              \
  TEST_F(Suite##Conformance, UnknownOptionIsRejected) { CheckUnknownOptionRejected(); }           \
  TEST_F(Suite##Conformance, MissingRequiredOptionsAreRejected) { CheckMissingRequiredOptionsRejected(); } \
  TEST_F(Suite##Conformance, RejectedOptionsAreRejected) { CheckRejectedOptions(); }              \
  TEST_F(Suite##Conformance, FailingRunFailsCleanly) { CheckFailingRunFailsCleanly(); }

#endif  // KILN_TESTING_HPP
