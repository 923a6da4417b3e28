#include "probes/platform/file_system.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/support/fixture_node.h"

namespace nodehealth::platform {
namespace {

class RootedFileSystemTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(dir_.path() + path).parent_path());
    std::ofstream(dir_.path() + path) << content;
  }
  nodehealth::testing::TempDir dir_;
};

TEST_F(RootedFileSystemTest, ReadsBelowTheRoot) {
  Write("/sys/module/nvidia/version", "535.161.08\n");
  RootedFileSystem fs(dir_.path() + "/");  // a trailing slash does not matter
  EXPECT_EQ(*fs.ReadFile("/sys/module/nvidia/version"), "535.161.08\n");
  EXPECT_EQ(fs.HostPath("/sys/module"), dir_.path() + "/sys/module");
  EXPECT_TRUE(fs.Exists("/sys/module/nvidia"));
}

TEST_F(RootedFileSystemTest, MissingFileIsEnoent) {
  RootedFileSystem fs(dir_.path());
  Expected<std::string> text = fs.ReadFile("/sys/nothing");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().sys_errno, ENOENT);
  EXPECT_NE(text.error().message.find("/sys/nothing"), std::string::npos);
}

TEST_F(RootedFileSystemTest, ADirectoryIsNotReadableAsAFile) {
  std::filesystem::create_directories(dir_.path() + "/sys/x/vendor");
  RootedFileSystem fs(dir_.path());
  Expected<std::string> text = fs.ReadFile("/sys/x/vendor");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().sys_errno, EISDIR);
}

TEST_F(RootedFileSystemTest, RefusesFilesOverTheLimitInsteadOfTruncating) {
  Write("/big", std::string(10000, 'x'));
  RootedFileSystem fs(dir_.path());
  Expected<std::string> text = fs.ReadFile("/big", 4096);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().sys_errno, EFBIG);
  EXPECT_EQ(fs.ReadFile("/big", 10000)->size(), 10000u);
}

TEST_F(RootedFileSystemTest, ReadingAFifoDoesNotBlock) {
  std::filesystem::create_directories(dir_.path() + "/dev");
  ASSERT_EQ(::mkfifo((dir_.path() + "/dev/fifo").c_str(), 0600), 0);
  RootedFileSystem fs(dir_.path());
  Expected<std::string> text = fs.ReadFile("/dev/fifo");  // returns at once: no writer
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "");
}

TEST_F(RootedFileSystemTest, ListsSortedAndReadsLinks) {
  Write("/d/b", "");
  Write("/d/a", "");
  std::filesystem::create_symlink("../../bus/pci/drivers/nvidia", dir_.path() + "/d/driver");
  RootedFileSystem fs(dir_.path());
  EXPECT_EQ(*fs.ListDir("/d"), (std::vector<std::string>{"a", "b", "driver"}));
  EXPECT_EQ(*fs.ReadLink("/d/driver"), "../../bus/pci/drivers/nvidia");
  EXPECT_EQ(fs.ListDir("/nope").error().sys_errno, ENOENT);
}

TEST(JoinPathTest, JoinsWithOneSlash) {
  EXPECT_EQ(JoinPath("/sys/", "/bus"), "/sys/bus");
  EXPECT_EQ(JoinPath("/sys", "bus"), "/sys/bus");
}

}  // namespace
}  // namespace nodehealth::platform
