#include "probes/platform/kernel_log_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/support/fixture_node.h"

namespace nodehealth::platform {
namespace {

using nodehealth::testing::TempDir;

std::vector<std::string> ReadAll(const std::string& content, KernelLogStats* stats_out = nullptr) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/dev");
  std::ofstream(dir.path() + "/dev/kmsg", std::ios::binary) << content;
  RootedFileSystem fs(dir.path());
  std::vector<std::string> lines;
  Expected<KernelLogStats> stats =
      ReadKernelLog(fs, Deadline::In(std::chrono::seconds(5)),
                    [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_TRUE(stats.ok());
  if (stats_out && stats) *stats_out = *stats;
  return lines;
}

TEST(ReadKernelLogTest, SplitsLinesAndKeepsATruncatedLastLine) {
  KernelLogStats stats;
  EXPECT_EQ(ReadAll("6,1,0,-;a\n6,2,1,-;b\n6,3,2,-;trunc", &stats),
            (std::vector<std::string>{"6,1,0,-;a", "6,2,1,-;b", "6,3,2,-;trunc"}));
  EXPECT_EQ(stats.lines, 3u);
  EXPECT_FALSE(stats.device);
  EXPECT_TRUE(stats.complete);
}

TEST(ReadKernelLogTest, PassesBinaryGarbageThroughAndBoundsHugeLines) {
  std::string garbage("\x00\x01\xff\xfe NVRM: Xid (", 14);
  garbage += std::string(200000, 'x');  // one 200 KB "line"
  std::vector<std::string> lines = ReadAll(garbage + "\nok\n");
  ASSERT_GE(lines.size(), 2u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 64u * 1024 + 256 * 1024);
  EXPECT_EQ(lines.back(), "ok");
}

TEST(ReadKernelLogTest, MissingLogIsAnErrorWithErrno) {
  TempDir dir;
  RootedFileSystem fs(dir.path());
  Expected<KernelLogStats> stats =
      ReadKernelLog(fs, Deadline::In(std::chrono::seconds(1)), [](std::string_view) {});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().sys_errno, ENOENT);
}

TEST(ReadKernelLogTest, ReadsTheLiveKmsgDeviceWhenPermitted) {
  RootedFileSystem fs("/");
  uint64_t lines = 0;
  Expected<KernelLogStats> stats =
      ReadKernelLog(fs, Deadline::In(std::chrono::seconds(5)), [&](std::string_view) { ++lines; });
  if (!stats.ok()) {
    // Containers without /dev/kmsg, or dmesg_restrict without CAP_SYSLOG: a clear error.
    EXPECT_TRUE(stats.error().sys_errno == ENOENT || stats.error().sys_errno == EPERM ||
                stats.error().sys_errno == EACCES)
        << stats.error().message;
    GTEST_SKIP() << stats.error().message;
  }
  EXPECT_TRUE(stats->device);
  EXPECT_EQ(stats->lines, lines);
}

// Issue 13 items 6 and 7: what stands at /dev/kmsg under --sysroot may be no log at all.
// An endless device, an empty one, a FIFO and an empty file are Errors saying what they are,
// never a clean log (they passed: the empty ones silently, /dev/zero until the deadline).
TEST(ReadKernelLogTest, WhatIsNoKernelLogIsAnError) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/dev");
  const std::string kmsg = dir.path() + "/dev/kmsg";
  RootedFileSystem fs(dir.path());
  const auto read = [&] {
    int lines = 0;
    return ReadKernelLog(fs, Deadline::In(std::chrono::seconds(5)),
                         [&](std::string_view) { ++lines; });
  };
  const std::pair<const char*, std::string> devices[] = {
      {"/dev/zero", "character device 1:5 (/dev/zero)"},
      {"/dev/urandom", "character device 1:9 (/dev/urandom)"},
      {"/dev/null", "character device 1:3 (/dev/null)"},
  };
  for (const auto& [device, what] : devices) {
    std::filesystem::remove(kmsg);
    std::filesystem::create_symlink(device, kmsg);
    const auto start = std::chrono::steady_clock::now();
    Expected<KernelLogStats> stats = read();
    ASSERT_FALSE(stats.ok()) << device;
    EXPECT_EQ(stats.error().message,
              kmsg + " is not the kernel log: " + what + ", not /dev/kmsg (1:11)");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << device;
  }
  std::filesystem::remove(kmsg);
  ASSERT_EQ(::mkfifo(kmsg.c_str(), 0600), 0);
  EXPECT_EQ(read().error().message,
            kmsg + " is not the kernel log: a FIFO, not /dev/kmsg or a regular file of records");
  std::filesystem::remove(kmsg);
  std::filesystem::create_directory(kmsg);
  EXPECT_EQ(read().error().message, kmsg +
                                        " is not the kernel log: a directory, not /dev/kmsg or a "
                                        "regular file of records");
  std::filesystem::remove(kmsg);
  std::ofstream(kmsg).flush();
  EXPECT_EQ(read().error().message,
            "the kernel log " + kmsg +
                " is empty; a real one always holds records since boot (in a container, "
                "/dev/kmsg may be hidden behind an empty file)");
}

}  // namespace
}  // namespace nodehealth::platform
