// A C++ plugin whose phases throw, to prove the SDK's C++ layer turns every
// exception into an error status with its message.
#include <stdexcept>
#include <string>

#include "kiln/processor.hpp"

#ifndef KILN_TEST_THROW_IN
#define KILN_TEST_THROW_IN ""
#endif
#ifndef KILN_TEST_NAME
#define KILN_TEST_NAME "throwing"
#endif

namespace {

void MaybeThrow(const char* phase) {
  if (std::string(KILN_TEST_THROW_IN) == phase) {
#ifdef KILN_TEST_THROW_NON_STD
    throw 42;
#else
    throw std::runtime_error(std::string(phase) + " threw on purpose");
#endif
  }
}

class Throwing final : public kiln::Processor {
 public:
  void configure(const kiln::Options& options, const kiln::Host&) override {
    MaybeThrow("configure");
    label_ = std::string(options.string("label"));
  }
  void init(const kiln::Host&) override { MaybeThrow("init"); }
  void extract(kiln::Run& run) override {
    MaybeThrow("extract");
    run.host().add_records(3);
  }
  void validate(kiln::Run&) override { MaybeThrow("validate"); }
  void transform(kiln::Run&) override { MaybeThrow("transform"); }
  void save(kiln::Run&) override { MaybeThrow("save"); }
  void post_process(kiln::Run&) override { MaybeThrow("post_process"); }
  void teardown(const kiln::Host&) override {}

 private:
  std::string label_;
};

const kiln_option_spec_t kOptions[] = {
    {"label", KILN_OPTION_STRING, 0, "x", "a label"},
};

}  // namespace

KILN_PLUGIN(Throwing, KILN_TEST_NAME, "2.1.0-rc.1+build.5", 0, kOptions)

#ifdef KILN_TEST_GNU_UNIQUE
// An inline function's static local: g++ binds it STB_GNU_UNIQUE unless
// built with -fno-gnu-unique, which pins the image in memory for good.
inline int& UniqueCounter() {
  static int counter = 0;
  return counter;
}
extern "C" KILN_EXPORT int throwing_touch_unique() { return ++UniqueCounter(); }
#endif
