// CheckTrustedPath and the loader's step 2a: who may change a plugin file or
// any directory above it. Ownership cases need root (to chown to another
// uid) and are skipped otherwise.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "host/loader/loader.h"
#include "host/loader/trust.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kStranger = 4242;

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // mkdtemp under /tmp: a sticky, world-writable parent (accepted) and
    // a 0700 directory of our own.
    char tmpl[] = "/tmp/kiln_trust_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/plugins";
    fs::create_directory(dir_);
    chmod(dir_.c_str(), 0755);
    file_ = dir_ + "/good.so";
    fs::copy_file(std::string(KILN_GALLERY_DIR) + "/good.so", file_);
    chmod(file_.c_str(), 0755);
  }
  void TearDown() override { fs::remove_all(root_); }

  static bool Root() { return geteuid() == 0; }

  std::string root_, dir_, file_;
};

TEST_F(TrustTest, OwnFilesInOwnDirectoriesAreTrusted) {
  EXPECT_TRUE(CheckTrustedPath(file_).ok()) << CheckTrustedPath(file_).ToString();
  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  EXPECT_TRUE(loader.Load(file_, &plugin).ok());
}

TEST_F(TrustTest, GroupWritableDirectoryIsRefusedBeforeDlopen) {
  chmod(dir_.c_str(), 0775);
  const std::string expected = file_ + ": refused: untrusted path: " + dir_ + " is group-writable (mode 0775)";
  EXPECT_EQ(CheckTrustedPath(file_).message(), expected);
  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  PluginInfo info;
  Status s = loader.Load(file_, &plugin, &info);
  EXPECT_EQ(s.code(), Status::Code::kRefused);
  EXPECT_EQ(s.message(), expected);
  EXPECT_EQ(plugin, nullptr);
  EXPECT_TRUE(info.name.empty()) << "the descriptor was read: the file was mapped";
  // The one way around it: the caller vouches for the path.
  EXPECT_TRUE(loader.Load(file_, &plugin, nullptr, {.check_trust = false}).ok());
}

TEST_F(TrustTest, WritableFileIsRefused) {
  chmod(file_.c_str(), 0666);
  EXPECT_EQ(CheckTrustedPath(file_).message(),
            file_ + ": refused: untrusted path: " + file_ + " is world-writable (mode 0666)");
  chmod(file_.c_str(), 0775);
  EXPECT_EQ(CheckTrustedPath(file_).message(),
            file_ + ": refused: untrusted path: " + file_ + " is group-writable (mode 0775)");
}

TEST_F(TrustTest, WorldWritableDirectoryWithoutStickyBitIsRefused) {
  chmod(root_.c_str(), 0777);
  EXPECT_EQ(CheckTrustedPath(file_).message(),
            file_ + ": refused: untrusted path: " + root_ + " is world-writable (mode 0777)");
}

TEST_F(TrustTest, StickyDirectoryIsAcceptedButEntriesInItMustBeOurs) {
  chmod(dir_.c_str(), 01777);
  EXPECT_TRUE(CheckTrustedPath(file_).ok()) << CheckTrustedPath(file_).ToString();
  if (!Root()) GTEST_SKIP() << "chown to another uid needs root";
  ASSERT_EQ(chown(file_.c_str(), kStranger, 0), 0);
  EXPECT_EQ(CheckTrustedPath(file_).message(),
            file_ + ": refused: untrusted path: " + file_ + " is owned by uid 4242, expected root");
}

TEST_F(TrustTest, DirectoryOwnedBySomeoneElseIsRefused) {
  if (!Root()) GTEST_SKIP() << "chown to another uid needs root";
  ASSERT_EQ(chown(dir_.c_str(), kStranger, 0), 0);
  EXPECT_EQ(CheckTrustedPath(file_).message(),
            file_ + ": refused: untrusted path: " + dir_ + " is owned by uid 4242, expected root");
}

TEST_F(TrustTest, LinkOwnedBySomeoneElseIsRefused) {
  if (!Root()) GTEST_SKIP() << "lchown to another uid needs root";
  const std::string link = root_ + "/link.so";
  fs::create_symlink(file_, link);
  EXPECT_TRUE(CheckTrustedPath(link).ok());
  ASSERT_EQ(lchown(link.c_str(), kStranger, 0), 0);
  EXPECT_EQ(CheckTrustedPath(link).message(),
            link + ": refused: untrusted path: link " + link + " is owned by uid 4242, expected root");
}

TEST_F(TrustTest, LinkIntoAnUntrustedDirectoryIsRefused) {
  // The link and every directory above it are fine; the file it points to
  // lies in a directory anyone in the group can write.
  const std::string shared = root_ + "/shared";
  fs::create_directory(shared);
  chmod(shared.c_str(), 0775);
  fs::copy_file(file_, shared + "/real.so");
  chmod((shared + "/real.so").c_str(), 0755);
  const std::string link = dir_ + "/linked.so";
  fs::create_symlink(shared + "/real.so", link);
  EXPECT_EQ(CheckTrustedPath(link).message(),
            link + ": refused: untrusted path: " + shared + " is group-writable (mode 0775)");
}

TEST_F(TrustTest, LinkInsideALinksTargetIsChecked) {
  // srv/plugins -> open/c/plugins, where open/ is world-writable and c is a
  // link to a trusted directory: the resolved path (real/plugins/good.so) is
  // all trusted, but anyone can re-point open/c. Seen by walking the nested
  // link, not by checking the path as written and as resolved.
  const std::string real = root_ + "/real", open = root_ + "/open";
  fs::create_directories(real + "/plugins");
  fs::copy_file(file_, real + "/plugins/good.so");
  chmod((real + "/plugins/good.so").c_str(), 0755);
  fs::create_directory(open);
  chmod(open.c_str(), 0777);
  fs::create_symlink(real, open + "/c");
  fs::create_directory(root_ + "/srv");
  fs::create_symlink(open + "/c/plugins", root_ + "/srv/plugins");
  const std::string path = root_ + "/srv/plugins/good.so";
  EXPECT_EQ(CheckTrustedPath(path).message(),
            path + ": refused: untrusted path: " + open + " is world-writable (mode 0777)");
  chmod(open.c_str(), 0755);
  EXPECT_TRUE(CheckTrustedPath(path).ok()) << CheckTrustedPath(path).ToString();
}

TEST_F(TrustTest, RelativePathsAndDotDotAreLookedUpAsTheKernelDoes) {
  // plugins/../plugins/good.so through a link into a group-writable dir.
  const std::string shared = root_ + "/shared";
  fs::create_directories(shared + "/sub");
  chmod(shared.c_str(), 0775);
  fs::create_directory(shared + "/plugins");
  fs::copy_file(file_, shared + "/plugins/good.so");
  chmod((shared + "/plugins/good.so").c_str(), 0755);
  fs::create_symlink(shared + "/sub", dir_ + "/sub");
  // dir_/sub/.. is shared (the link's parent), not dir_.
  const std::string path = dir_ + "/sub/../plugins/good.so";
  EXPECT_EQ(CheckTrustedPath(path).message(),
            path + ": refused: untrusted path: " + shared + " is group-writable (mode 0775)");
  const fs::path cwd = fs::current_path();
  fs::current_path(root_);
  EXPECT_TRUE(CheckTrustedPath("plugins/good.so").ok()) << CheckTrustedPath("plugins/good.so").ToString();
  fs::current_path(cwd);
}

TEST_F(TrustTest, ALinkLoopIsAnErrorNotAHang) {
  fs::create_symlink(root_ + "/b", root_ + "/a");
  fs::create_symlink(root_ + "/a", root_ + "/b");
  Status s = CheckTrustedPath(root_ + "/a/good.so");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), root_ + "/a/good.so: cannot check: too many levels of symbolic links");
}

TEST_F(TrustTest, NotARegularFileOrMissing) {
  fs::create_directory(dir_ + "/dir.so");
  EXPECT_EQ(CheckTrustedPath(dir_ + "/dir.so").message(),
            dir_ + "/dir.so: refused: untrusted path: not a regular file");
  Status s = CheckTrustedPath(dir_ + "/missing.so");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), dir_ + "/missing.so: cannot check: " + dir_ + "/missing.so: No such file or directory");
}

}  // namespace
}  // namespace kiln
