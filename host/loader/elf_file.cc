#include "host/loader/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

// A plugin file opened for reading. Reads are pread()s of exactly the
// structures the check needs: a few small reads are cheaper than mapping the
// file and faulting its pages in, and verification must stay cheap next to
// dlopen itself.
class ElfFileReader {
 public:
  ~ElfFileReader() {
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
    // One read covers the header, the program headers and, in a typical
    // small library, the dynamic symbol table: most checks cost no syscall.
    prefix_size_ = std::min<size_t>(size_, kPrefixBytes);
    if (!ReadFromFile(0, prefix_size_, prefix_)) {
      return Status::IOError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    }
    return Status::OK();
  }

  size_t size() const { return size_; }

  // Reads [offset, offset + len) into *out; the caller has checked that the
  // range lies inside the file. False on a short read (file shrank).
  bool Read(uint64_t offset, uint64_t len, std::string* out) const {
    if (offset + len <= prefix_size_) {
      out->assign(prefix_ + offset, len);
      return true;
    }
    out->resize(len);
    return ReadFromFile(offset, len, out->data());
  }

 private:
  static constexpr size_t kPrefixBytes = 8192;

  bool ReadFromFile(uint64_t offset, uint64_t len, char* dst) const {
    size_t got = 0;
    while (got < len) {
      ssize_t n = pread(fd_, dst + got, len - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    return true;
  }

  char prefix_[kPrefixBytes];
  size_t prefix_size_ = 0;
  int fd_ = -1;
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

// Reads a T at `offset` of a buffer; the caller has checked bounds. memcpy
// because the file gives no alignment guarantee.
template <typename T>
T At(const std::string& buf, uint64_t offset) {
  T value;
  std::memcpy(&value, buf.data() + offset, sizeof(T));
  return value;
}

// DT_FLAGS_1 with DF_1_PIE marks a position-independent executable, which
// glibc refuses to dlopen; say so plainly instead.
bool IsPie(const ElfFileReader& f, const std::string& phdrs, const Elf64_Ehdr& eh) {
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = At<Elf64_Phdr>(phdrs, uint64_t{i} * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_DYNAMIC) continue;
    std::string dyn;
    const uint64_t len = std::min<uint64_t>(ph.p_filesz, 64 << 10) / sizeof(Elf64_Dyn) * sizeof(Elf64_Dyn);
    if (!f.Read(ph.p_offset, len, &dyn)) return false;
    for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= len; off += sizeof(Elf64_Dyn)) {
      auto d = At<Elf64_Dyn>(dyn, off);
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_PIE)) return true;
    }
  }
  return false;
}

void FindGnuUnique(const ElfFileReader& f, const std::string& shdrs, const Elf64_Ehdr& eh, ElfReport* report) {
  uint64_t end;
  for (uint16_t i = 0; i < eh.e_shnum; ++i) {
    auto sh = At<Elf64_Shdr>(shdrs, uint64_t{i} * sizeof(Elf64_Shdr));
    if (sh.sh_type != SHT_DYNSYM || sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum) {
      continue;
    }
    auto strtab = At<Elf64_Shdr>(shdrs, uint64_t{sh.sh_link} * sizeof(Elf64_Shdr));
    const uint64_t sym_len = sh.sh_size / sizeof(Elf64_Sym) * sizeof(Elf64_Sym);
    std::string syms, strs;
    if (!InFile(sh.sh_offset, sym_len, 1, f.size(), &end) || !InFile(strtab.sh_offset, strtab.sh_size, 1, f.size(), &end) ||
        !f.Read(sh.sh_offset, sym_len, &syms) || !f.Read(strtab.sh_offset, strtab.sh_size, &strs)) {
      continue;
    }
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sym_len; off += sizeof(Elf64_Sym)) {
      auto sym = At<Elf64_Sym>(syms, off);
      if (ELF64_ST_BIND(sym.st_info) != STB_GNU_UNIQUE || sym.st_shndx == SHN_UNDEF) continue;
      if (sym.st_name >= strs.size()) continue;
      const char* name = strs.data() + sym.st_name;
      report->gnu_unique_symbols.emplace_back(name, strnlen(name, strs.size() - sym.st_name));
    }
  }
}

}  // namespace

Status InspectElfFile(const std::string& path, ElfReport* report) {
  report->gnu_unique_symbols.clear();
  ElfFileReader f;
  Status s = f.Open(path);
  if (!s.ok()) return s;
  auto short_read = [&] { return Status::IOError(path + ": file changed while being read"); };

  const size_t size = f.size();
  if (size == 0) return Status::Refused(path + ": empty file, expected an ELF shared object");
  std::string head;
  if (!f.Read(0, std::min<size_t>(size, sizeof(Elf64_Ehdr)), &head)) return short_read();
  static const unsigned char kMagic[4] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
  if (size < 4 || std::memcmp(head.data(), kMagic, 4) != 0) {
    std::string found;
    for (size_t i = 0; i < size && i < 4; ++i) {
      found += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned char>(head[i]));
    }
    return Status::Refused(
        fmt::format("{}: not an ELF file: expected magic 7f 45 4c 46, found {}", path, found));
  }
  if (size < sizeof(Elf64_Ehdr)) {
    return Status::Refused(fmt::format("{}: truncated ELF: header needs {} bytes, file has {}", path,
                                       sizeof(Elf64_Ehdr), size));
  }
  if (head[EI_CLASS] != ELFCLASS64) {
    return Status::Refused(fmt::format("{}: wrong ELF class: expected 64-bit, found {}", path,
                                       head[EI_CLASS] == ELFCLASS32 ? "32-bit" : "invalid"));
  }
  if (head[EI_DATA] != ELFDATA2LSB) {
    return Status::Refused(fmt::format("{}: wrong byte order: expected little-endian, found {}", path,
                                       head[EI_DATA] == ELFDATA2MSB ? "big-endian" : "invalid"));
  }
  const auto eh = At<Elf64_Ehdr>(head, 0);
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
  std::string phdrs;
  if (!f.Read(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), &phdrs)) return short_read();
  // dlopen maps every PT_LOAD segment: one that runs past the end of the
  // file would fault (SIGBUS) on first touch, inside the dynamic linker.
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = At<Elf64_Phdr>(phdrs, uint64_t{i} * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC) continue;
    if (!InFile(ph.p_offset, ph.p_filesz, 1, size, &end)) {
      return Status::Refused(fmt::format(
          "{}: truncated ELF: segment {} ends at byte {}, file has {}", path, i, end, size));
    }
  }
  std::string shdrs;
  if (eh.e_shnum != 0) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr)) {
      return Status::Refused(path + ": malformed ELF: bad section header size");
    }
    if (!InFile(eh.e_shoff, eh.e_shnum, eh.e_shentsize, size, &end)) {
      return Status::Refused(fmt::format(
          "{}: truncated ELF: section headers end at byte {}, file has {}", path, end, size));
    }
    if (!f.Read(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), &shdrs)) return short_read();
  }
  if (IsPie(f, phdrs, eh)) {
    return Status::Refused(path + ": not a shared object: expected a library, found a PIE executable");
  }
  FindGnuUnique(f, shdrs, eh, report);
  return Status::OK();
}

}  // namespace kiln
