#include "probes/platform/kernel_log_source.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace nodehealth::platform
