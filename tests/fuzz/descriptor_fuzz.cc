// Fuzz target: descriptor verification (host/loader/descriptor_check.h),
// the checks Loader::Load applies to the descriptor a plugin returns.
//
// The input is read field by field into a kiln_plugin_descriptor_t in
// memory (layout below); function pointers are NULL or stubs that are
// never called. Checks: a refusal is one line starting with the path or
// "plugin '<name>' (<path>)"; an accepted descriptor has a valid name and
// version, known capabilities, every method, and an option schema whose
// entries match the table it came from; the name-check hook runs only for
// descriptors that got that far.
//
// Layout: magic u64, abi_major u16, abi_minor u16, struct_size u32,
// pointer_size u32, byte_order u32, cxx_runtime u32, host_abi_minor u8,
// method mask u8 (bit i set: method i present), capabilities u64,
// compiler, name, version (strings: a length byte, 0xff for NULL, then the
// bytes), option_count u32, table flag u8 (0xff: NULL table), then per
// option: name, type i8, required i8, default, doc.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/loader/descriptor_check.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

extern "C" {
kiln_status_t StubConfigure(const kiln_host_t*, const kiln_option_value_t*, uint32_t, void**, kiln_message_t*) {
  FUZZ_CHECK(false, "verification called configure");
  return KILN_ERROR;
}
kiln_status_t StubInit(void*, const kiln_host_t*, kiln_message_t*) {
  FUZZ_CHECK(false, "verification called init");
  return KILN_ERROR;
}
kiln_status_t StubPhase(void*, const kiln_run_t*, kiln_message_t*) {
  FUZZ_CHECK(false, "verification called a phase");
  return KILN_ERROR;
}
void StubTeardown(void*, const kiln_host_t*) { FUZZ_CHECK(false, "verification called teardown"); }
}

// Strings that stay alive for one input; c_str() or NULL.
class Strings {
 public:
  const char* Add(kiln_fuzz::Reader& r) {
    bool null = false;
    std::string s = r.String(&null);
    if (null) return nullptr;
    held_.push_back(std::make_unique<std::string>(std::move(s)));
    return held_.back()->c_str();
  }

 private:
  std::vector<std::unique_ptr<std::string>> held_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln_fuzz::Reader r(data, size);
  Strings strings;
  kiln_plugin_descriptor_t d{};
  d.magic = r.Raw<uint64_t>();
  d.abi_major = r.Raw<uint16_t>();
  d.abi_minor = r.Raw<uint16_t>();
  d.struct_size = r.Raw<uint32_t>();
  d.build.pointer_size = r.Raw<uint32_t>();
  d.build.byte_order = r.Raw<uint32_t>();
  d.build.cxx_runtime = r.Raw<uint32_t>();
  const uint16_t host_minor = r.Byte() % 4;
  const uint8_t methods = r.Byte();
  d.capabilities = r.Raw<uint64_t>();
  d.build.compiler = strings.Add(r);
  d.name = strings.Add(r);
  d.version = strings.Add(r);
  d.option_count = r.Raw<uint32_t>();
  const bool null_table = r.Byte() == 0xff;

  d.configure = methods & 1 ? StubConfigure : nullptr;
  d.init = methods & 2 ? StubInit : nullptr;
  d.extract = methods & 4 ? StubPhase : nullptr;
  d.validate = methods & 8 ? StubPhase : nullptr;
  d.transform = methods & 16 ? StubPhase : nullptr;
  d.save = methods & 32 ? StubPhase : nullptr;
  d.post_process = methods & 64 ? StubPhase : nullptr;
  d.teardown = methods & 128 ? StubTeardown : nullptr;

  // The table holds option_count entries when that is readable at all
  // (ReadOptionSchema refuses more than 256 before reading any).
  std::vector<kiln_option_spec_t> table(std::min<uint32_t>(d.option_count, 300));
  for (kiln_option_spec_t& spec : table) {
    spec.name = strings.Add(r);
    spec.type = static_cast<int8_t>(r.Byte());
    spec.required = static_cast<int8_t>(r.Byte());
    spec.default_value = strings.Add(r);
    spec.doc = strings.Add(r);
  }
  d.options = null_table ? nullptr : table.data();

  const std::string path = "/fuzz/plugins/p.so";
  kiln::PluginInfo info;
  kiln_plugin_descriptor_t copy{};
  bool name_checked = false;
  kiln::Status s = kiln::VerifyDescriptor(&d, path, host_minor, &info, &copy, [&](const std::string& who) {
    FUZZ_CHECK(!name_checked);
    name_checked = true;
    FUZZ_CHECK(who == "plugin '" + info.name + "' (" + path + ")", who);
    if (info.name == "taken") return kiln::Status::Refused(who + ": name already loaded from /elsewhere");
    return kiln::Status::OK();
  });
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == kiln::Status::Code::kRefused, s.ToString());
    FUZZ_CHECK(s.message().rfind(path + ": ", 0) == 0 || s.message().rfind("plugin '", 0) == 0, s.message());
    FUZZ_CHECK(kiln_fuzz::OneLine(s.message()), s.message());
    return 0;
  }
  FUZZ_CHECK(name_checked && info.name != "taken");
  FUZZ_CHECK(d.magic == KILN_ABI_MAGIC && d.abi_major == KILN_ABI_MAJOR && d.abi_minor <= host_minor);
  FUZZ_CHECK(d.struct_size >= KILN_DESCRIPTOR_V1_0_SIZE);
  FUZZ_CHECK(kiln::ValidPluginName(info.name) && kiln::ValidSemver(info.version), info.name + " " + info.version);
  FUZZ_CHECK((info.capabilities & ~KILN_CAP_KNOWN_V1_0) == 0);
  FUZZ_CHECK(methods == 0xff);
  FUZZ_CHECK(info.options.size() == d.option_count);
  for (size_t i = 0; i < info.options.size(); ++i) {
    const kiln::OptionSpec& o = info.options[i];
    FUZZ_CHECK(o.name == table[i].name && o.type == table[i].type && o.doc == table[i].doc, o.name);
    FUZZ_CHECK(o.required == (table[i].required == 1) && o.required != o.default_value.has_value(), o.name);
  }
  FUZZ_CHECK(copy.magic == d.magic && copy.configure == d.configure && copy.teardown == d.teardown);
  return 0;
}
