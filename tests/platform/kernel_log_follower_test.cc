#include "probes/platform/kernel_log_follower.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/fixture_node.h"

namespace nodehealth::platform {
namespace {

using namespace std::chrono_literals;

void Append(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

class KernelLogFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/dev");
    path_ = dir_.path() + "/dev/kmsg";
    Append(path_, "6,1,100,-;first\n6,2,200,-;second\n");
  }
  std::vector<std::string> ReadAll(KernelLogFollower& f) {
    std::vector<std::string> lines;
    Expected<bool> more = true;
    while (more && *more)
      more = f.ReadAvailable([&](std::string_view l) { lines.emplace_back(l); });
    EXPECT_TRUE(static_cast<bool>(more));
    return lines;
  }
  nodehealth::testing::TempDir dir_;
  std::string path_;
};

TEST_F(KernelLogFollowerTest, ReadsTheBacklogThenFollowsAppends) {
  RootedFileSystem fs(dir_.path());
  Expected<std::unique_ptr<KernelLogFollower>> f = KernelLogFollower::Open(fs);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE((*f)->device());
  EXPECT_EQ(ReadAll(**f), (std::vector<std::string>{"6,1,100,-;first", "6,2,200,-;second"}));
  EXPECT_TRUE(ReadAll(**f).empty());

  // A writer appends from another thread; Wait wakes on the write, long before its timeout.
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    Append(path_, "6,3,300,-;third\n6,4,");  // the second record is still being written
  });
  const auto start = std::chrono::steady_clock::now();
  (*f)->Wait(5000ms);
  writer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms);
  EXPECT_EQ(ReadAll(**f), std::vector<std::string>{"6,3,300,-;third"});
  Append(path_, "400,-;fourth\n");
  EXPECT_EQ(ReadAll(**f), std::vector<std::string>{"6,4,400,-;fourth"});
  EXPECT_EQ((*f)->stats().lines, 4u);
}

TEST_F(KernelLogFollowerTest, StartsAgainWhenTheFileIsTruncatedOrReplaced) {
  RootedFileSystem fs(dir_.path());
  Expected<std::unique_ptr<KernelLogFollower>> f = KernelLogFollower::Open(fs);
  ASSERT_TRUE(f);
  ReadAll(**f);
  std::ofstream(path_, std::ios::trunc) << "6,9,900,-;after truncate\n";
  EXPECT_EQ(ReadAll(**f), std::vector<std::string>{"6,9,900,-;after truncate"});
  EXPECT_EQ((*f)->stats().restarts, 1u);

  const std::string fresh = dir_.path() + "/dev/kmsg.new";
  std::ofstream(fresh) << "6,1,1,-;new boot\n";
  std::filesystem::rename(fresh, path_);
  EXPECT_EQ(ReadAll(**f), std::vector<std::string>{"6,1,1,-;new boot"});
  EXPECT_EQ((*f)->stats().restarts, 2u);
}

TEST_F(KernelLogFollowerTest, BoundsGarbageAndFloods) {
  RootedFileSystem fs(dir_.path());
  Expected<std::unique_ptr<KernelLogFollower>> f = KernelLogFollower::Open(fs);
  ASSERT_TRUE(f);
  ReadAll(**f);
  Append(path_, std::string(200 * 1024, '\xff') + "\n");  // 200 KiB without a newline: cut
  std::string flood;
  for (int i = 0; i < 20000; ++i) flood += "6," + std::to_string(10 + i) + ",1,-;line\n";
  Append(path_, flood);
  std::size_t longest = 0, count = 0;
  Expected<bool> more = (*f)->ReadAvailable(
      [&](std::string_view l) {
        longest = std::max(longest, l.size());
        ++count;
      },
      64 * 1024);
  ASSERT_TRUE(more);
  EXPECT_TRUE(*more);  // stopped at the batch limit: the rest waits for the next call
  while (more && *more) {
    more = (*f)->ReadAvailable([&](std::string_view l) {
      longest = std::max(longest, l.size());
      ++count;
    });
  }
  EXPECT_EQ(longest, 64u * 1024);  // cut there, and the rest of it dropped
  EXPECT_EQ(count, 20001u);

  // A long line that arrives in pieces is still one line.
  Append(path_, std::string(100 * 1024, 'A'));
  EXPECT_EQ(ReadAll(**f).size(), 1u);
  Append(path_, "B\n6,99,1,-;next\n");
  EXPECT_EQ(ReadAll(**f), std::vector<std::string>{"6,99,1,-;next"});
}

TEST_F(KernelLogFollowerTest, WakeEndsAWait) {
  RootedFileSystem fs(dir_.path());
  Expected<std::unique_ptr<KernelLogFollower>> f = KernelLogFollower::Open(fs);
  ASSERT_TRUE(f);
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    (*f)->Wake();
  });
  const auto start = std::chrono::steady_clock::now();
  (*f)->Wait(10000ms);
  waker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms);
}

TEST(KernelLogFollowerOpenTest, MissingLogIsAnErrorWithErrno) {
  nodehealth::testing::TempDir dir;
  RootedFileSystem fs(dir.path());
  Expected<std::unique_ptr<KernelLogFollower>> f = KernelLogFollower::Open(fs);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().sys_errno, ENOENT);
  EXPECT_NE(f.error().message.find("/dev/kmsg"), std::string::npos);
}

TEST(KernelLogFollowerOpenTest, AnEndlessDeviceIsNoKernelLog) {
  nodehealth::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/dev");
  std::filesystem::create_symlink("/dev/zero", dir.path() + "/dev/kmsg");
  Expected<std::unique_ptr<KernelLogFollower>> opened =
      KernelLogFollower::Open(RootedFileSystem(dir.path()));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().message, dir.path() +
                                        "/dev/kmsg is not the kernel log: character device 1:5 "
                                        "(/dev/zero), not /dev/kmsg (1:11)");
}

}  // namespace
}  // namespace nodehealth::platform
