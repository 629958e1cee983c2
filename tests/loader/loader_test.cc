// The verifying loader and the run path, against the gallery of real shared
// objects built by tests/loader/CMakeLists.txt. Every refusal is asserted by
// its exact text.
#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "host/base/date.h"
#include "host/loader/descriptor_check.h"
#include "host/loader/loader.h"
#include "host/run/instance.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

std::string G(const std::string& name) { return std::string(KILN_GALLERY_DIR) + "/" + name + ".so"; }

Status LoadStatus(const std::string& path, uint16_t host_minor = KILN_ABI_MINOR) {
  Loader loader(host_minor);
  std::shared_ptr<const Plugin> plugin;
  return loader.Load(path, &plugin);
}

std::string LoadError(const std::string& path, uint16_t host_minor = KILN_ABI_MINOR) {
  Status s = LoadStatus(path, host_minor);
  EXPECT_FALSE(s.ok()) << path << " loaded but should have been refused";
  EXPECT_EQ(s.code(), s.code() == Status::Code::kNotFound ? Status::Code::kNotFound : Status::Code::kRefused);
  return s.message();
}

// A scratch directory for malformed files, removed afterwards.
class ScratchDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-loader-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_;
};

TEST(Loader, LoadsAGoodPluginAndReportsWhatItIs) {
  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  PluginInfo info;
  ASSERT_TRUE(loader.Load(G("good"), &plugin, &info).ok());
  EXPECT_EQ(plugin->name(), "gallery");
  EXPECT_EQ(info.version, "1.0.0");
  EXPECT_EQ(info.abi_major, 1);
  EXPECT_EQ(info.abi_minor, 0);
  EXPECT_TRUE(info.partitioned());
  EXPECT_EQ(info.cxx_runtime, static_cast<uint32_t>(KILN_CXX_RUNTIME_NONE));
  ASSERT_EQ(info.options.size(), 2u);
  EXPECT_EQ(info.options[0].name, "window");
  EXPECT_EQ(std::get<int64_t>(*info.options[0].default_value), 5);
  for (bool present : info.method_present) EXPECT_TRUE(present);
  EXPECT_TRUE(info.gnu_unique_symbols.empty());
}

TEST(Loader, EachMissingMethodIsNamed) {
  for (const char* method : kRequiredMethods) {
    const std::string path = G(std::string("no_") + method);
    EXPECT_EQ(LoadError(path), "plugin 'gallery' (" + path + "): missing required methods: " + method);
  }
}

TEST(Loader, AllMissingMethodsAreNamedAtOnce) {
  EXPECT_EQ(LoadError(G("no_extract_save")),
            "plugin 'gallery' (" + G("no_extract_save") + "): missing required methods: extract, save");
  EXPECT_EQ(LoadError(G("no_methods")),
            "plugin 'gallery' (" + G("no_methods") +
                "): missing required methods: configure, init, extract, validate, transform, save, "
                "post_process, teardown");
  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  PluginInfo info;
  ASSERT_FALSE(loader.Load(G("no_extract_save"), &plugin, &info).ok());
  ASSERT_TRUE(info.methods_checked);
  EXPECT_TRUE(info.method_present[0]);   // configure
  EXPECT_FALSE(info.method_present[2]);  // extract
  EXPECT_FALSE(info.method_present[5]);  // save
}

TEST(Loader, AbiVersionRules) {
  EXPECT_EQ(LoadError(G("major2")),
            G("major2") + ": ABI major mismatch: host speaks 1.0, plugin was built for 2.0");
  EXPECT_EQ(LoadError(G("minor1")),
            G("minor1") + ": ABI minor too new: host speaks 1.0, plugin was built for 1.1; upgrade kilnd");
  // A host that speaks 1.1 loads a 1.1 plugin and an older 1.0 one.
  EXPECT_TRUE(LoadStatus(G("minor1"), 1).ok());
  EXPECT_TRUE(LoadStatus(G("good"), 1).ok());
}

TEST(Loader, DescriptorHeadAndSignature) {
  EXPECT_EQ(LoadError(G("bad_magic")),
            G("bad_magic") + ": bad descriptor magic: expected 0x314e4c494b4e4c4b, found 0x0000000000001234");
  EXPECT_EQ(LoadError(G("small_struct")),
            G("small_struct") + ": descriptor too small: expected at least " +
                std::to_string(KILN_DESCRIPTOR_V1_0_SIZE) + " bytes for ABI 1.0, found 40");
  EXPECT_EQ(LoadError(G("pointer4")),
            G("pointer4") + ": build signature mismatch: expected pointer size 8, found 4");
}

TEST(Loader, IdentityAndSchema) {
  EXPECT_EQ(LoadError(G("bad_name")), "plugin 'Bad-Name' (" + G("bad_name") +
                                          "): invalid name: expected [a-z][a-z0-9_]{0,63}, found 'Bad-Name'");
  EXPECT_EQ(LoadError(G("bad_version")),
            "plugin 'gallery' (" + G("bad_version") +
                "): invalid version: expected a semantic version like 1.2.3, found '1.0'");
  EXPECT_EQ(LoadError(G("unknown_caps")),
            "plugin 'gallery' (" + G("unknown_caps") + "): unknown capability bits 0x10 for ABI 1.0");
  EXPECT_EQ(LoadError(G("bad_schema")),
            "plugin 'gallery' (" + G("bad_schema") + "): option schema: option 0 'window': unknown type 42");
}

// Descriptor checks on descriptors in memory (descriptor_check.h): what a
// plugin wrote is quoted with control characters as '?', so a refusal stays
// one line. Found by tests/fuzz/descriptor.
kiln_status_t NoConfigure(const kiln_host_t*, const kiln_option_value_t*, uint32_t, void**, kiln_message_t*) {
  return KILN_ERROR;
}
kiln_status_t NoInit(void*, const kiln_host_t*, kiln_message_t*) { return KILN_ERROR; }
kiln_status_t NoPhase(void*, const kiln_run_t*, kiln_message_t*) { return KILN_ERROR; }
void NoTeardown(void*, const kiln_host_t*) {}

std::string DescriptorError(const char* name, const char* version, const kiln_option_spec_t* options = nullptr,
                            uint32_t option_count = 0, bool methods = true) {
  kiln_plugin_descriptor_t d{};
  d.magic = KILN_ABI_MAGIC;
  d.abi_major = KILN_ABI_MAJOR;
  d.abi_minor = KILN_ABI_MINOR;
  d.struct_size = sizeof d;
  d.build = KILN_BUILD_SIGNATURE_THIS;
  d.name = name;
  d.version = version;
  d.options = options;
  d.option_count = option_count;
  if (methods) {
    d.configure = NoConfigure;
    d.init = NoInit;
    d.extract = d.validate = d.transform = d.save = d.post_process = NoPhase;
    d.teardown = NoTeardown;
  }
  PluginInfo info;
  kiln_plugin_descriptor_t copy;
  Status s = VerifyDescriptor(&d, "/p.so", KILN_ABI_MINOR, &info, &copy);
  EXPECT_EQ(s.code(), s.ok() ? Status::Code::kOk : Status::Code::kRefused);
  return s.ToString();
}

TEST(Loader, DescriptorTextIsQuotedOnOneLine) {
  EXPECT_EQ(DescriptorError("good", "1.0.0"), "OK");
  EXPECT_EQ(DescriptorError("a\nb", "1.0.0"),
            "plugin 'a?b' (/p.so): invalid name: expected [a-z][a-z0-9_]{0,63}, found 'a?b'");
  EXPECT_EQ(DescriptorError("a\nb", "1.0.0", nullptr, 0, false),
            "plugin 'a?b' (/p.so): missing required methods: configure, init, extract, validate, transform, save, "
            "post_process, teardown");
  EXPECT_EQ(DescriptorError("good", "1.0.0\r"),
            "plugin 'good' (/p.so): invalid version: expected a semantic version like 1.2.3, found '1.0.0?'");
  const kiln_option_spec_t bad_name[] = {{"win\ndow", KILN_OPTION_INT, 0, "5", "doc"}};
  EXPECT_EQ(DescriptorError("good", "1.0.0", bad_name, 1),
            "plugin 'good' (/p.so): option schema: option 0 'win?dow': invalid name, expected [a-z][a-z0-9_]{0,63}");
  const kiln_option_spec_t bad_default[] = {{"window", KILN_OPTION_INT, 0, "5\n", "doc"},
                                            {"day", KILN_OPTION_DATE, 0, "2025-01-0\t", "doc"}};
  EXPECT_EQ(DescriptorError("good", "1.0.0", bad_default, 1),
            "plugin 'good' (/p.so): option schema: option 0 'window': default: expected int, found '5?'");
  EXPECT_EQ(DescriptorError("good", "1.0.0", bad_default + 1, 1),
            "plugin 'good' (/p.so): option schema: option 0 'day': default: invalid date '2025-01-0?': "
            "expected YYYY-MM-DD");
}

TEST(Loader, DuplicateNameIsRefusedWhileTheFirstIsLoaded) {
  Loader loader;
  std::shared_ptr<const Plugin> first, second;
  ASSERT_TRUE(loader.Load(G("good"), &first).ok());
  Status s = loader.Load(G("good_copy"), &second);
  EXPECT_EQ(s.message(), "plugin 'gallery' (" + G("good_copy") + "): name already loaded from " + G("good"));
  std::shared_ptr<const Plugin> other;
  EXPECT_TRUE(loader.Load(G("good_other_name"), &other).ok());
  first.reset();  // unloads: the name is free again
  EXPECT_TRUE(loader.Load(G("good_copy"), &second).ok());
}

TEST(Loader, LibrariesThatAreNotPlugins) {
  EXPECT_EQ(LoadError(G("not_a_plugin")),
            G("not_a_plugin") + ": not a Kiln plugin: expected exported symbol 'kiln_plugin_entry', found none");
  EXPECT_EQ(LoadError(G("null_descriptor")), G("null_descriptor") + ": kiln_plugin_entry() returned no descriptor");
  EXPECT_EQ(LoadError(G("unresolved")), G("unresolved") + ": unresolved symbol 'kiln_test_symbol_nobody_defines'");
}

TEST(Loader, Executables) {
  const std::string exec = std::string(KILN_GALLERY_DIR) + "/exec";
  EXPECT_EQ(LoadError(exec), exec + ": not a shared object: expected ELF type DYN, found EXEC (an executable)");
  const std::string pie = std::string(KILN_GALLERY_DIR) + "/pie";
  EXPECT_EQ(LoadError(pie), pie + ": not a shared object: expected a library, found a PIE executable");
}

TEST_F(ScratchDir, MalformedFilesNeverReachTheDynamicLinker) {
  EXPECT_EQ(LoadError(dir_ + "/absent.so"), dir_ + "/absent.so: no such file");
  EXPECT_EQ(LoadError(dir_), dir_ + ": not a regular file, expected an ELF shared object");
  const std::string empty = Write("empty.so", "");
  EXPECT_EQ(LoadError(empty), empty + ": empty file, expected an ELF shared object");
  const std::string text = Write("text.so", "#!/bin/sh\necho hello\n");
  EXPECT_EQ(LoadError(text), text + ": not an ELF file: expected magic 7f 45 4c 46, found 23 21 2f 62");
  const std::string tiny = Write("tiny.so", "\x7f" "E");
  EXPECT_EQ(LoadError(tiny), tiny + ": not an ELF file: expected magic 7f 45 4c 46, found 7f 45");

  const std::string good = ReadAll(G("good"));
  ASSERT_GT(good.size(), 4096u);
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);

  const std::string head = Write("head.so", good.substr(0, 20));
  EXPECT_EQ(LoadError(head), head + ": truncated ELF: header needs 64 bytes, file has 20");
  const std::string phdrs = Write("phdrs.so", good.substr(0, 100));
  EXPECT_EQ(LoadError(phdrs), phdrs + ": truncated ELF: program headers end at byte " +
                                  std::to_string(eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr)) +
                                  ", file has 100");
  // Cut anywhere past the program headers: still refused, never mapped.
  for (size_t cut : {size_t{1024}, good.size() / 2, good.size() - 1}) {
    const std::string truncated = Write("cut" + std::to_string(cut) + ".so", good.substr(0, cut));
    const std::string msg = LoadError(truncated);
    EXPECT_EQ(msg.rfind(truncated + ": truncated ELF: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(", file has " + std::to_string(cut)), std::string::npos) << msg;
  }

  std::string wrong_class = good.substr(0, 64);
  wrong_class[EI_CLASS] = ELFCLASS32;
  const std::string c32 = Write("class32.so", wrong_class);
  EXPECT_EQ(LoadError(c32), c32 + ": wrong ELF class: expected 64-bit, found 32-bit");

  std::string wrong_order = good;
  wrong_order[EI_DATA] = ELFDATA2MSB;
  const std::string be = Write("bigendian.so", wrong_order);
  EXPECT_EQ(LoadError(be), be + ": wrong byte order: expected little-endian, found big-endian");

  std::string arm = good;
  const uint16_t machine = 183;  // EM_AARCH64
  std::memcpy(arm.data() + offsetof(Elf64_Ehdr, e_machine), &machine, sizeof machine);
  const std::string aarch64 = Write("aarch64.so", arm);
  EXPECT_EQ(LoadError(aarch64), aarch64 + ": wrong machine: expected x86-64, found machine 183");

  std::string obj = good;
  const uint16_t rel = ET_REL;
  std::memcpy(obj.data() + offsetof(Elf64_Ehdr, e_type), &rel, sizeof rel);
  const std::string o = Write("object.so", obj);
  EXPECT_EQ(LoadError(o), o + ": not a shared object: expected ELF type DYN, found REL (an object file)");
}

TEST_F(ScratchDir, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string path = Write("secret.so", "x");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  EXPECT_EQ(LoadError(path), path + ": cannot read: Permission denied");
}

TEST(Loader, ReportsGnuUniqueSymbols) {
  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  PluginInfo info;
  ASSERT_TRUE(loader.Load(G("gnu_unique"), &plugin, &info).ok());
  ASSERT_EQ(info.gnu_unique_symbols.size(), 1u);
  EXPECT_EQ(info.gnu_unique_symbols[0], "_ZZ13UniqueCountervE7counter");
  EXPECT_EQ(info.cxx_runtime, static_cast<uint32_t>(KILN_CXX_RUNTIME_LIBSTDCXX));
  EXPECT_EQ(info.version, "2.1.0-rc.1+build.5");
}

// --- the run path ---

struct Opened {
  std::shared_ptr<const Plugin> plugin;
  std::unique_ptr<Instance> instance;
  Status status;
  std::vector<PhaseResult> phases;
};

Opened Open(const std::string& file, std::vector<std::string> options = {}) {
  Loader fresh;
  Opened o;
  o.status = fresh.Load(G(file), &o.plugin);
  if (!o.status.ok()) return o;
  std::vector<OptionInput> inputs;
  for (const std::string& text : options) {
    OptionInput in;
    EXPECT_TRUE(ParseOptionAssignment(text, &in).ok());
    inputs.push_back(in);
  }
  BoundOptions bound;
  o.status = BoundOptions::Bind(o.plugin->name(), o.plugin->info().options, inputs, &bound);
  if (!o.status.ok()) return o;
  o.status = Instance::Open(o.plugin, "proc", bound, &o.instance, &o.phases);
  return o;
}

RunRequest DayRequest(const char* day) {
  RunRequest req;
  req.run_id = "r1";
  Day d;
  EXPECT_TRUE(ParseDay(day, &d).ok());
  req.partition = d;
  return req;
}

TEST(RunPath, AllPhasesInOrderWithRecordsAndTimings) {
  Opened o = Open("good", {"window=7"});
  ASSERT_TRUE(o.status.ok()) << o.status.message();
  ASSERT_EQ(o.phases.size(), 2u);
  EXPECT_EQ(o.phases[0].name, "configure");
  EXPECT_EQ(o.phases[1].name, "init");
  RunResult r;
  o.instance->Run(DayRequest("2025-01-20"), &r);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  std::vector<std::string> names;
  for (const PhaseResult& p : r.phases) {
    names.push_back(p.name);
    EXPECT_TRUE(p.ok);
    EXPECT_GE(p.millis, 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"extract", "validate", "transform", "save", "post_process"}));
  EXPECT_EQ(r.phases[0].records, 10u);
  EXPECT_EQ(r.phases[3].records, 10u);
  EXPECT_EQ(r.records, 20u);
}

TEST(RunPath, ErrorStatusFromEachPhase) {
  const char* phases[] = {"extract", "validate", "transform", "save", "post_process"};
  for (size_t i = 0; i < std::size(phases); ++i) {
    Opened o = Open(std::string("fail_") + phases[i]);
    ASSERT_TRUE(o.status.ok()) << o.status.message();
    RunResult r;
    o.instance->Run(DayRequest("2025-01-20"), &r);
    EXPECT_EQ(r.status.code(), Status::Code::kFailed);
    EXPECT_EQ(r.status.message(),
              std::string("processor 'proc': ") + phases[i] + " failed: " + phases[i] + " exploded on purpose");
    ASSERT_EQ(r.phases.size(), i + 1);  // nothing after the failed phase ran
    EXPECT_FALSE(r.phases.back().ok);
  }
  Opened c = Open("fail_configure");
  EXPECT_EQ(c.status.message(), "processor 'proc': configure failed: configure exploded on purpose");
  Opened n = Open("fail_init");
  EXPECT_EQ(n.status.message(), "processor 'proc': init failed: init exploded on purpose");
  ASSERT_EQ(n.phases.size(), 2u);
  EXPECT_FALSE(n.phases[1].ok);
}

TEST(RunPath, ExceptionFromEachPhaseBecomesAnErrorStatus) {
  for (const char* phase : {"configure", "init"}) {
    Opened o = Open(std::string("throw_") + phase);
    EXPECT_EQ(o.status.message(),
              std::string("processor 'proc': ") + phase + " failed: " + phase + " threw on purpose");
  }
  for (const char* phase : {"extract", "validate", "transform", "save", "post_process"}) {
    Opened o = Open(std::string("throw_") + phase);
    ASSERT_TRUE(o.status.ok()) << o.status.message();
    RunResult r;
    RunRequest req;
    req.run_id = "r";
    o.instance->Run(req, &r);
    EXPECT_EQ(r.status.message(),
              std::string("processor 'proc': ") + phase + " failed: " + phase + " threw on purpose");
  }
  Opened o = Open("throw_non_std");
  ASSERT_TRUE(o.status.ok());
  RunResult r;
  RunRequest req;
  req.run_id = "r";
  o.instance->Run(req, &r);
  EXPECT_EQ(r.status.message(), "processor 'proc': extract failed: unknown exception");
}

TEST(RunPath, OptionsAreCheckedBeforeThePluginSeesThem) {
  EXPECT_EQ(Open("good", {"windw=3"}).status.message(),
            "plugin 'gallery': unknown option 'windw' (did you mean 'window'?)");
  EXPECT_EQ(Open("good", {"window=abc"}).status.message(), "plugin 'gallery': option 'window': expected int, found 'abc'");
  EXPECT_EQ(Open("good", {"window=200"}).status.message(), "processor 'proc': configure failed: window 200 is larger than 100");

  std::vector<OptionSpec> schema(1);
  schema[0].name = "db";
  schema[0].type = KILN_OPTION_STRING;
  schema[0].required = true;
  BoundOptions bound;
  std::vector<std::string> errors;
  std::vector<OptionInput> inputs(2);
  inputs[0].name = "bd";
  inputs[0].value = std::string("x");
  inputs[1].name = "zzz";
  inputs[1].value = int64_t{3};
  Status s = BoundOptions::Bind("p", schema, inputs, &bound, &errors);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(errors, (std::vector<std::string>{"plugin 'p': unknown option 'bd' (did you mean 'db'?)",
                                              "plugin 'p': unknown option 'zzz'",
                                              "plugin 'p': missing required option 'db'"}));
}

TEST(RunPath, PartitionMustMatchTheCapability) {
  Opened o = Open("good");
  ASSERT_TRUE(o.status.ok());
  RunResult r;
  RunRequest req;
  req.run_id = "r";
  o.instance->Run(req, &r);
  EXPECT_EQ(r.status.message(), "processor 'proc': plugin 'gallery' is partitioned by date: a partition date is required");
  Opened t = Open("throwing");
  ASSERT_TRUE(t.status.ok());
  t.instance->Run(DayRequest("2025-01-01"), &r);
  EXPECT_EQ(r.status.message(), "processor 'proc': plugin 'throwing' is not partitioned by date: it takes no partition date");
}

TEST(RunPath, CancelledBeforeTheFirstPhase) {
  Opened o = Open("good");
  ASSERT_TRUE(o.status.ok());
  std::atomic<bool> cancel{true};
  RunRequest req = DayRequest("2025-01-20");
  req.cancel = &cancel;
  RunResult r;
  o.instance->Run(req, &r);
  EXPECT_EQ(r.status.code(), Status::Code::kCancelled);
  EXPECT_EQ(r.status.message(), "processor 'proc': cancelled before extract");
}

TEST(Dates, StrictCalendarDays) {
  Day d;
  EXPECT_TRUE(ParseDay("2024-02-29", &d).ok());
  EXPECT_EQ(FormatDay(d), "2024-02-29");
  EXPECT_EQ(ParseDay("2025-02-30", &d).message(), "invalid date '2025-02-30': February 2025 has 28 days");
  EXPECT_EQ(ParseDay("2025-13-01", &d).message(), "invalid date '2025-13-01': month 13 does not exist");
  EXPECT_EQ(ParseDay("2025-1-1", &d).message(), "invalid date '2025-1-1': expected YYYY-MM-DD");
  EXPECT_EQ(ParseDay("", &d).message(), "invalid date '': expected YYYY-MM-DD");
}

}  // namespace
}  // namespace kiln
