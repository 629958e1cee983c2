// kiln/processor.hpp: the C++ layer over kiln/plugin.h, header-only.
//
// Derive from kiln::Processor, implement every pure virtual method (the
// compiler enforces what the host's loader enforces for C plugins), and export
// the class with one macro:
//
//   class Counter final : public kiln::Processor { ... };
//   static const kiln_option_spec_t kOptions[] = {
//       {"window", KILN_OPTION_INT, 0, "5", "games in the rolling window"}};
//   KILN_PLUGIN(Counter, "counter", "1.0.0", KILN_CAP_PARTITIONED_BY_DATE, kOptions)
//
// Pass nullptr instead of an options array when the plugin takes none.
// A method reports failure by throwing; the adapter catches every exception
// at the boundary and hands the host an error status carrying its message.
// Nothing C++-specific crosses the ABI.
#ifndef KILN_PROCESSOR_HPP
#define KILN_PROCESSOR_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "kiln/plugin.h"

namespace kiln {

// Thrown by the accessors below, and by plugin code, to fail a call.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The host's services: logging, progress, records, cancellation.
class Host {
 public:
  explicit Host(const kiln_host_t* host) : host_(host) {}

  void log(int32_t level, std::string_view message) const {
    std::string line(message);
    host_->log(host_->ctx, level, line.c_str());
  }
  void debug(std::string_view m) const { log(KILN_LOG_DEBUG, m); }
  void info(std::string_view m) const { log(KILN_LOG_INFO, m); }
  void warn(std::string_view m) const { log(KILN_LOG_WARN, m); }
  void error(std::string_view m) const { log(KILN_LOG_ERROR, m); }

  void progress(uint64_t done, uint64_t total) const { host_->progress(host_->ctx, done, total); }
  void add_records(uint64_t count) const { host_->add_records(host_->ctx, count); }
  bool cancelled() const { return host_->cancelled(host_->ctx) != 0; }

  // Throws kiln::Error("cancelled") once the host asked the run to stop.
  void check_cancelled() const {
    if (cancelled()) throw Error("cancelled");
  }

 private:
  const kiln_host_t* host_;
};

// The options the host validated against the schema, in schema order.
class Options {
 public:
  Options(const kiln_option_value_t* values, uint32_t count) : values_(values), count_(count) {}

  std::string_view string(std::string_view name) const { return find(name, KILN_OPTION_STRING).as.s; }
  std::string_view date(std::string_view name) const { return find(name, KILN_OPTION_DATE).as.s; }
  int64_t integer(std::string_view name) const { return find(name, KILN_OPTION_INT).as.i; }
  double number(std::string_view name) const { return find(name, KILN_OPTION_FLOAT).as.f; }
  bool flag(std::string_view name) const { return find(name, KILN_OPTION_BOOL).as.b != 0; }

 private:
  const kiln_option_value_t& find(std::string_view name, int32_t type) const {
    for (uint32_t i = 0; i < count_; ++i) {
      if (name == values_[i].name) {
        if (values_[i].type != type) throw Error("option '" + std::string(name) + "' has another type");
        return values_[i];
      }
    }
    throw Error("option '" + std::string(name) + "' is not in the schema");
  }

  const kiln_option_value_t* values_;
  uint32_t count_;
};

// One run, as the host describes it.
class Run {
 public:
  explicit Run(const kiln_run_t* run) : run_(run), host_(run->host) {}

  std::string_view id() const { return run_->run_id; }
  std::string_view processor() const { return run_->processor; }
  // The partition date "YYYY-MM-DD"; empty for unpartitioned runs.
  std::optional<std::string_view> partition() const {
    if (run_->partition == nullptr) return std::nullopt;
    return std::string_view(run_->partition);
  }
  int32_t trigger() const { return run_->trigger; }
  bool dry_run() const { return run_->dry_run != 0; }
  const Host& host() const { return host_; }

 private:
  const kiln_run_t* run_;
  Host host_;
};

// The base class of every C++ processor. One object is one configured
// instance; the host never calls it from two threads at once.
class Processor {
 public:
  virtual ~Processor() = default;

  virtual void configure(const Options& options, const Host& host) = 0;  // reject bad options
  virtual void init(const Host& host) = 0;                               // open clients
  virtual void extract(Run& run) = 0;
  virtual void validate(Run& run) = 0;
  virtual void transform(Run& run) = 0;
  virtual void save(Run& run) = 0;
  virtual void post_process(Run& run) = 0;
  virtual void teardown(const Host& host) = 0;  // release; must not throw
};

namespace detail {

inline void WriteMessage(kiln_message_t* out, const char* text) {
  std::snprintf(out->text, sizeof out->text, "%s", text);
}

// Runs `body`, turning any exception into KILN_ERROR and a message.
template <typename Body>
kiln_status_t Guard(kiln_message_t* error, Body&& body) noexcept {
  try {
    body();
    return KILN_OK;
  } catch (const std::exception& e) {
    WriteMessage(error, e.what());
  } catch (...) {
    WriteMessage(error, "unknown exception");
  }
  return KILN_ERROR;
}

template <typename T>
struct Adapter {
  static kiln_status_t Configure(const kiln_host_t* host, const kiln_option_value_t* values,
                                 uint32_t count, void** instance, kiln_message_t* error) noexcept {
    T* object = nullptr;
    kiln_status_t status = Guard(error, [&] {
      object = new T();
      object->configure(Options(values, count), Host(host));
    });
    if (status != KILN_OK) {
      delete object;
      object = nullptr;
    }
    *instance = object;
    return status;
  }
  static kiln_status_t Init(void* instance, const kiln_host_t* host, kiln_message_t* error) noexcept {
    return Guard(error, [&] { static_cast<T*>(instance)->init(Host(host)); });
  }
  template <void (Processor::*Phase)(Run&)>
  static kiln_status_t Call(void* instance, const kiln_run_t* run, kiln_message_t* error) noexcept {
    return Guard(error, [&] {
      Run r(run);
      (static_cast<T*>(instance)->*Phase)(r);
    });
  }
  static void Teardown(void* instance, const kiln_host_t* host) noexcept {
    T* object = static_cast<T*>(instance);
    try {
      object->teardown(Host(host));
    } catch (const std::exception& e) {
      Host(host).error(std::string("teardown threw: ") + e.what());
    } catch (...) {
      Host(host).error("teardown threw an unknown exception");
    }
    delete object;
  }
};

template <typename T>
constexpr kiln_plugin_descriptor_t Describe(const char* name, const char* version, uint64_t caps,
                                            const kiln_option_spec_t* options, uint32_t option_count) {
  static_assert(std::is_base_of_v<Processor, T>, "a Kiln plugin class derives from kiln::Processor");
  return kiln_plugin_descriptor_t{
      KILN_ABI_MAGIC,
      KILN_ABI_MAJOR,
      KILN_ABI_MINOR,
      static_cast<uint32_t>(sizeof(kiln_plugin_descriptor_t)),
      KILN_BUILD_SIGNATURE_THIS,
      name,
      version,
      caps,
      options,
      option_count,
      0,
      &Adapter<T>::Configure,
      &Adapter<T>::Init,
      &Adapter<T>::template Call<&Processor::extract>,
      &Adapter<T>::template Call<&Processor::validate>,
      &Adapter<T>::template Call<&Processor::transform>,
      &Adapter<T>::template Call<&Processor::save>,
      &Adapter<T>::template Call<&Processor::post_process>,
      &Adapter<T>::Teardown,
  };
}

template <size_t N>
constexpr uint32_t OptionCount(const kiln_option_spec_t (&)[N]) { return static_cast<uint32_t>(N); }
constexpr uint32_t OptionCount(std::nullptr_t) { return 0; }
template <size_t N>
constexpr const kiln_option_spec_t* OptionTable(const kiln_option_spec_t (&a)[N]) { return a; }
constexpr const kiln_option_spec_t* OptionTable(std::nullptr_t) { return nullptr; }

}  // namespace detail
}  // namespace kiln

// Exports `Class` as a plugin. `options` is an array of kiln_option_spec_t or
// nullptr.
#define KILN_PLUGIN(Class, name, version, capabilities, options)                            \
  KILN_PLUGIN_ENTRY {                                                                       \
    static const kiln_plugin_descriptor_t descriptor = ::kiln::detail::Describe<Class>(     \
        name, version, capabilities, ::kiln::detail::OptionTable(options),                  \
        ::kiln::detail::OptionCount(options));                                              \
    return &descriptor;                                                                     \
  }

#endif  // KILN_PROCESSOR_HPP
