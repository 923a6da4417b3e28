#include "probes/platform/trusted_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "tests/support/fixture_node.h"

namespace nodehealth::platform {
namespace {

// Runs as root in CI; the ownership rules are checked against the effective user either way.
class TrustedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ::chmod(dir_.path().c_str(), 0755);
    std::ofstream(File()) << "verdict";
    ::chmod(File().c_str(), 0644);
  }
  std::string File() const { return dir_.path() + "/status.json"; }
  testing::TempDir dir_;
};

TEST_F(TrustedFileTest, ReadsAFileOnlyItsOwnerCanWrite) {
  Expected<std::string> text = ReadTrustedFile(File(), 100);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text, "verdict");
  EXPECT_TRUE(CheckTrustedDirectory(dir_.path()).ok());
}

TEST_F(TrustedFileTest, RefusesWhatOthersCouldHaveWritten) {
  ::chmod(File().c_str(), 0646);
  EXPECT_EQ(ReadTrustedFile(File(), 100).error().message,
            "untrusted file " + File() + ": writable by group or others (mode 0646)");
  ::chmod(File().c_str(), 0644);

  const std::string sub = dir_.path() + "/open";
  std::filesystem::create_directory(sub);
  ::chmod(sub.c_str(), 0775);
  std::ofstream(sub + "/status.json") << "x";
  EXPECT_EQ(ReadTrustedFile(sub + "/status.json", 100).error().message,
            "untrusted directory " + sub + ": writable by group or others (mode 0775)");
  EXPECT_FALSE(CheckTrustedDirectory(sub).ok());
  // A sticky directory (/tmp) is fine: others cannot rename or remove what they do not own.
  ::chmod(sub.c_str(), 01777);
  EXPECT_TRUE(ReadTrustedFile(sub + "/status.json", 100).ok());

  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(sub.c_str(), 65534, 65534), 0);
    ::chmod(sub.c_str(), 0755);
    EXPECT_EQ(ReadTrustedFile(sub + "/status.json", 100).error().message,
              "untrusted directory " + sub + ": owned by uid 65534, not root or uid 0");
  }
}

TEST_F(TrustedFileTest, RefusesLinksFifosDirectoriesAndLargeFiles) {
  const std::string link = dir_.path() + "/link.json";
  std::filesystem::create_symlink(File(), link);
  Expected<std::string> linked = ReadTrustedFile(link, 100);
  EXPECT_EQ(linked.error().message, link + " is a symbolic link: refused");
  EXPECT_EQ(linked.error().sys_errno, ELOOP);

  const std::string fifo = dir_.path() + "/fifo.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(ReadTrustedFile(fifo, 100).error().message, fifo + " is not a regular file");
  EXPECT_EQ(ReadTrustedFile(dir_.path(), 100).error().message,
            dir_.path() + " is not a regular file");

  EXPECT_EQ(ReadTrustedFile(File(), 3).error().message, File() + " is larger than 3 bytes");
  Expected<std::string> missing = ReadTrustedFile(dir_.path() + "/absent.json", 100);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace nodehealth::platform
