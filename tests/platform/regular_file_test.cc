// ReadRegularFile: only regular files, bounded, never a wait (FIFOs, sockets, devices,
// directories are refused at once with a message naming the path and the file's role).
#include "probes/platform/regular_file.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/blocking_call.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::platform {
namespace {

using nodehealth::testing::CallWithFifoDeadline;
using nodehealth::testing::MakeFifo;

class ReadRegularFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  nodehealth::testing::TempDir dir_;
};

TEST_F(ReadRegularFileTest, ReadsARegularFileWhole) {
  const std::string content(100000, 'x');  // more than one read(2)
  EXPECT_EQ(*ReadRegularFile(Write("a.toml", content), 1 << 20, "profile"), content);
  EXPECT_EQ(*ReadRegularFile(Write("empty.toml", ""), 1 << 20, "profile"), "");
}

TEST_F(ReadRegularFileTest, ExactlyTheBoundIsReadOneByteMoreIsAnError) {
  EXPECT_EQ(ReadRegularFile(Write("16", std::string(16, 'a')), 16, "config")->size(), 16u);
  Expected<std::string> text = ReadRegularFile(Write("17", std::string(17, 'a')), 16, "config");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, dir_.path() + "/17: config larger than 16 bytes");
  EXPECT_EQ(text.error().sys_errno, EFBIG);
  text = ReadRegularFile(Write("big", std::string((1 << 20) + 1, 'a')), 1 << 20, "profile");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, dir_.path() + "/big: profile larger than 1 MiB");
}

TEST_F(ReadRegularFileTest, MissingFileKeepsEnoent) {
  Expected<std::string> text = ReadRegularFile(dir_.path() + "/none.toml", 1024, "config");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().sys_errno, ENOENT);
  EXPECT_EQ(text.error().message,
            "cannot open config " + dir_.path() + "/none.toml: No such file or directory");
}

TEST_F(ReadRegularFileTest, DirectoryIsNotAProfileFile) {
  Expected<std::string> text = ReadRegularFile(dir_.path(), 1024, "profile");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, dir_.path() + " is a directory, not a profile file");
  EXPECT_EQ(text.error().sys_errno, EISDIR);
}

TEST_F(ReadRegularFileTest, FifoIsRefusedAtOnce) {
  const std::string fifo = dir_.path() + "/config.toml";
  MakeFifo(fifo);
  bool blocked = false;
  Expected<std::string> text = CallWithFifoDeadline(
      fifo, [&] { return ReadRegularFile(fifo, 1024, "config"); }, &blocked);
  EXPECT_FALSE(blocked) << "ReadRegularFile waited on a FIFO";
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, fifo + " is a FIFO, not a config file");
}

TEST_F(ReadRegularFileTest, SymlinkToAFifoIsAFifoToARegularFileIsRead) {
  const std::string fifo = dir_.path() + "/fifo";
  MakeFifo(fifo);
  std::filesystem::create_symlink(fifo, dir_.path() + "/to-fifo");
  std::filesystem::create_symlink(Write("real", "name = \"x\"\n"), dir_.path() + "/to-real");
  bool blocked = false;
  Expected<std::string> text = CallWithFifoDeadline(
      fifo, [&] { return ReadRegularFile(dir_.path() + "/to-fifo", 1024, "profile"); }, &blocked);
  EXPECT_FALSE(blocked);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, dir_.path() + "/to-fifo is a FIFO, not a profile file");
  EXPECT_EQ(*ReadRegularFile(dir_.path() + "/to-real", 1024, "profile"), "name = \"x\"\n");
}

TEST_F(ReadRegularFileTest, SocketAndDevicesAreRefused) {
  const std::string socket_path = dir_.path() + "/sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.size(), sizeof address.sun_path);
  socket_path.copy(address.sun_path, socket_path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  Expected<std::string> text = ReadRegularFile(socket_path, 1024, "config");
  ::close(fd);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, socket_path + " is a socket, not a config file");

  // /dev/zero never ends, /dev/null is empty: neither is a config.
  text = ReadRegularFile("/dev/zero", 1 << 20, "config");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "/dev/zero is a character device, not a config file");
  text = ReadRegularFile("/dev/null", 1 << 20, "agent state");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "/dev/null is a character device, not an agent state file");
}

TEST_F(ReadRegularFileTest, ProcFilesWithoutASizeAreReadToTheEnd) {
  // procfs reports size 0 for files that have content: the reader must not trust st_size.
  Expected<std::string> text = ReadRegularFile("/proc/self/status", 1 << 20, "status");
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_NE(text->find("Name:"), std::string::npos);
}

}  // namespace
}  // namespace nodehealth::platform
