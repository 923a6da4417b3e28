#include "agent/policy/repair_inbox.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "probes/platform/trusted_file.h"

namespace nodehealth::agent {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAppliedDirName = "applied";
constexpr const char* kRejectedDirName = "rejected";

bool IsRecordName(const std::string& name) {
  return !name.empty() && name[0] != '.' && name.size() > 5 && name.ends_with(".json");
}

// Keeps the newest `keep` entries of `dir` (by name: they start with the time).
void Trim(const std::string& dir, std::size_t keep) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  if (ec || names.size() <= keep) return;
  std::sort(names.begin(), names.end());
  for (std::size_t i = 0; i + keep < names.size(); ++i) fs::remove_all(dir + "/" + names[i], ec);
}

// Moves `path` into <repairs>/<sub>/ (created 0700 when missing), then trims that directory.
// rename(2) moves a link or a FIFO as itself: nothing is opened or followed.
Expected<bool> MoveInto(const std::string& state_dir, const std::string& path, const char* sub) {
  const std::string dir = RepairsDir(state_dir) + "/" + sub;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError("cannot create " + dir + ": " + std::strerror(errno), errno);
  }
  const std::string target = dir + "/" + fs::path(path).filename().string();
  if (std::rename(path.c_str(), target.c_str()) != 0) {
    return MakeError("cannot move " + path + " to " + dir + ": " + std::strerror(errno), errno);
  }
  Trim(dir, kKeptRepairFiles);
  return true;
}

}  // namespace

std::string RepairsDir(const std::string& state_dir) { return state_dir + "/" + kRepairsDirName; }

RepairInbox CollectRepairs(const std::string& state_dir) {
  RepairInbox inbox;
  const std::string dir = RepairsDir(state_dir);
  std::error_code ec;
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (IsRecordName(name)) names.push_back(name);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    inbox.rejected.push_back("cannot read " + dir + ": " + ec.message());
    return inbox;
  }
  std::sort(names.begin(), names.end());
  if (names.size() > kMaxRepairFilesPerScan) names.resize(kMaxRepairFilesPerScan);
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    Expected<std::string> text = platform::ReadTrustedFile(path, kMaxRepairRecordBytes);
    if (!text && text.error().sys_errno == ENOENT) continue;  // gone since the listing
    Expected<RepairRecord> record =
        text ? ParseRepairRecord(*text) : Expected<RepairRecord>(text.error());
    if (record) {
      inbox.records.push_back(std::move(*record));
      inbox.paths.push_back(path);
      continue;
    }
    std::string message = "rejected repair record " + path + ": " + record.error().message;
    if (Expected<bool> moved = MoveInto(state_dir, path, kRejectedDirName); !moved) {
      message += " (" + moved.error().message + ")";
    }
    inbox.rejected.push_back(std::move(message));
  }
  return inbox;
}

std::vector<std::string> FileAppliedRepairs(const std::string& state_dir,
                                            const std::vector<std::string>& paths) {
  std::vector<std::string> errors;
  for (const std::string& path : paths) {
    if (Expected<bool> moved = MoveInto(state_dir, path, kAppliedDirName); !moved) {
      errors.push_back(moved.error().message);
    }
  }
  return errors;
}

}  // namespace nodehealth::agent
