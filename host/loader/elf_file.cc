#include "host/loader/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kiln {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
constexpr const char* kHostMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
constexpr const char* kHostMachineName = "AArch64";
#else
#error "Kiln's ELF check knows x86-64 and AArch64 only"
#endif

const char* ElfTypeName(uint16_t type) {
  switch (type) {
    case ET_NONE: return "NONE";
    case ET_REL: return "REL (an object file)";
    case ET_EXEC: return "EXEC (an executable)";
    case ET_DYN: return "DYN";
    case ET_CORE: return "CORE (a core dump)";
    default: return "unknown";
  }
}

// A read-only mapping of a whole file, unmapped on scope exit.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_ != nullptr) munmap(const_cast<unsigned char*>(data_), size_);
    if (fd_ >= 0) close(fd_);
  }

  Status Open(const std::string& path) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return Status::NotFound(path + ": no such file");
      return Status::IOError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    }
    struct stat st;
    if (fstat(fd_, &st) != 0) {
      return Status::IOError(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::Refused(path + ": not a regular file, expected an ELF shared object");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return Status::OK();
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      return Status::IOError(fmt::format("{}: cannot map: {}", path, std::strerror(errno)));
    }
    data_ = static_cast<const unsigned char*>(p);
    return Status::OK();
  }

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  int fd_ = -1;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

// True when [offset, offset + count * entsize) lies inside the file.
bool InFile(uint64_t offset, uint64_t count, uint64_t entsize, size_t size, uint64_t* end) {
  if (entsize != 0 && count > (UINT64_MAX - offset) / entsize) {
    *end = UINT64_MAX;
    return false;
  }
  *end = offset + count * entsize;
  return *end <= size;
}

// Reads T at `offset`; the caller has checked bounds. memcpy because the file
// gives no alignment guarantee.
template <typename T>
T At(const MappedFile& f, uint64_t offset) {
  T value;
  std::memcpy(&value, f.data() + offset, sizeof(T));
  return value;
}

bool IsPie(const MappedFile& f, const Elf64_Ehdr& eh) {
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = At<Elf64_Phdr>(f, eh.e_phoff + uint64_t{i} * eh.e_phentsize);
    if (ph.p_type != PT_DYNAMIC) continue;
    uint64_t end;
    if (!InFile(ph.p_offset, ph.p_filesz / sizeof(Elf64_Dyn), sizeof(Elf64_Dyn), f.size(), &end)) {
      return false;  // segment bounds were checked; be defensive anyway
    }
    for (uint64_t off = ph.p_offset; off + sizeof(Elf64_Dyn) <= end; off += sizeof(Elf64_Dyn)) {
      auto dyn = At<Elf64_Dyn>(f, off);
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE)) return true;
    }
  }
  return false;
}

void FindGnuUnique(const MappedFile& f, const Elf64_Ehdr& eh, ElfReport* report) {
  for (uint16_t i = 0; i < eh.e_shnum; ++i) {
    auto sh = At<Elf64_Shdr>(f, eh.e_shoff + uint64_t{i} * eh.e_shentsize);
    if (sh.sh_type != SHT_DYNSYM || sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum) {
      continue;
    }
    auto strtab = At<Elf64_Shdr>(f, eh.e_shoff + uint64_t{sh.sh_link} * eh.e_shentsize);
    uint64_t sym_end, str_end;
    if (!InFile(sh.sh_offset, sh.sh_size / sizeof(Elf64_Sym), sizeof(Elf64_Sym), f.size(), &sym_end) ||
        !InFile(strtab.sh_offset, strtab.sh_size, 1, f.size(), &str_end)) {
      continue;
    }
    for (uint64_t off = sh.sh_offset; off + sizeof(Elf64_Sym) <= sym_end; off += sizeof(Elf64_Sym)) {
      auto sym = At<Elf64_Sym>(f, off);
      if (ELF64_ST_BIND(sym.st_info) != STB_GNU_UNIQUE || sym.st_shndx == SHN_UNDEF) continue;
      if (sym.st_name >= strtab.sh_size) continue;
      const char* name = reinterpret_cast<const char*>(f.data() + strtab.sh_offset + sym.st_name);
      size_t max = strtab.sh_size - sym.st_name;
      report->gnu_unique_symbols.emplace_back(name, strnlen(name, max));
    }
  }
}

}  // namespace

Status InspectElfFile(const std::string& path, ElfReport* report) {
  report->gnu_unique_symbols.clear();
  MappedFile f;
  Status s = f.Open(path);
  if (!s.ok()) return s;

  const size_t size = f.size();
  if (size == 0) return Status::Refused(path + ": empty file, expected an ELF shared object");
  static const unsigned char kMagic[4] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
  if (size < 4 || std::memcmp(f.data(), kMagic, 4) != 0) {
    std::string found;
    for (size_t i = 0; i < size && i < 4; ++i) {
      found += fmt::format("{}{:02x}", i ? " " : "", f.data()[i]);
    }
    return Status::Refused(
        fmt::format("{}: not an ELF file: expected magic 7f 45 4c 46, found {}", path, found));
  }
  if (size < sizeof(Elf64_Ehdr)) {
    return Status::Refused(fmt::format("{}: truncated ELF: header needs {} bytes, file has {}", path,
                                       sizeof(Elf64_Ehdr), size));
  }
  if (f.data()[EI_CLASS] != ELFCLASS64) {
    return Status::Refused(fmt::format("{}: wrong ELF class: expected 64-bit, found {}", path,
                                       f.data()[EI_CLASS] == ELFCLASS32 ? "32-bit" : "invalid"));
  }
  if (f.data()[EI_DATA] != ELFDATA2LSB) {
    return Status::Refused(fmt::format("{}: wrong byte order: expected little-endian, found {}", path,
                                       f.data()[EI_DATA] == ELFDATA2MSB ? "big-endian" : "invalid"));
  }
  const auto eh = At<Elf64_Ehdr>(f, 0);
  if (eh.e_machine != kHostMachine) {
    return Status::Refused(fmt::format("{}: wrong machine: expected {}, found machine {}", path,
                                       kHostMachineName, eh.e_machine));
  }
  if (eh.e_type != ET_DYN) {
    return Status::Refused(fmt::format("{}: not a shared object: expected ELF type DYN, found {}",
                                       path, ElfTypeName(eh.e_type)));
  }

  uint64_t end;
  if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return Status::Refused(path + ": malformed ELF: no valid program header table");
  }
  if (!InFile(eh.e_phoff, eh.e_phnum, eh.e_phentsize, size, &end)) {
    return Status::Refused(fmt::format(
        "{}: truncated ELF: program headers end at byte {}, file has {}", path, end, size));
  }
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = At<Elf64_Phdr>(f, eh.e_phoff + uint64_t{i} * eh.e_phentsize);
    if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC) continue;
    if (!InFile(ph.p_offset, ph.p_filesz, 1, size, &end)) {
      return Status::Refused(fmt::format(
          "{}: truncated ELF: segment {} ends at byte {}, file has {}", path, i, end, size));
    }
  }
  if (eh.e_shnum != 0) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr)) {
      return Status::Refused(path + ": malformed ELF: bad section header size");
    }
    if (!InFile(eh.e_shoff, eh.e_shnum, eh.e_shentsize, size, &end)) {
      return Status::Refused(fmt::format(
          "{}: truncated ELF: section headers end at byte {}, file has {}", path, end, size));
    }
  }
  if (IsPie(f, eh)) {
    return Status::Refused(path + ": not a shared object: expected a library, found a PIE executable");
  }
  FindGnuUnique(f, eh, report);
  return Status::OK();
}

}  // namespace kiln
