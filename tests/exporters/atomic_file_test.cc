#include "exporters/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/fixture_node.h"

namespace nodehealth {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(WriteFileAtomicallyTest, ReplacesContentAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/report.json";
  std::ofstream(path) << "old";
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(Slurp(path), "new");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(WriteFileAtomicallyTest, AFailureKeepsTheOldFile) {
  testing::TempDir dir;
  const std::string target = dir.path() + "/report.json";
  std::filesystem::create_directory(target);  // rename(2) cannot replace a directory with a file
  Expected<bool> written = WriteFileAtomically(target, "new");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("cannot rename into"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(target));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);  // the temporary file is gone
}

TEST(WriteFileAtomicallyTest, MissingDirectoryIsAClearError) {
  Expected<bool> written = WriteFileAtomically("/nonexistent-dir/report.json", "x");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("cannot create a temporary file next to "
                                         "/nonexistent-dir/report.json"),
            std::string::npos);
}

}  // namespace
}  // namespace nodehealth
