// The agent's side of repair records (repair_record.h) on disk: <state_dir>/repairs/ is an inbox
// that `nodehealth repair` writes into (as root) and the agent empties.
//
//   * Only names "<anything>.json" not starting with "." are records; a dot-file is a writer's
//     temporary (atomic write in progress) and is left alone, as is anything else.
//   * A record is read only when it can be trusted (platform::ReadTrustedFile: a regular file
//     opened with O_NOFOLLOW | O_NONBLOCK, owned by root or the agent's euid, not writable by group
//     or others, in a directory chain nobody else can write) and is at most
//     kMaxRepairRecordBytes. Anything else (a link, a FIFO, another user's file, a malformed
//     record) is moved to repairs/rejected/ and reported, never applied.
//   * Applied records are moved to repairs/applied/ (FileAppliedRepairs). Each of the two keeps its
//     newest kKeptRepairFiles files (names start with the time, so the oldest sort first).
//
// Failure behaviour: never throws; an unreadable inbox yields no records and a message.
// Thread safety: reentrant; one agent owns a state directory (the state lock).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "agent/policy/repair_record.h"

namespace nodehealth::agent {

inline constexpr const char* kRepairsDirName = "repairs";
inline constexpr std::size_t kKeptRepairFiles = 100;
// Records read per scan: a flood is worked through over the next rounds.
inline constexpr std::size_t kMaxRepairFilesPerScan = 100;

struct RepairInbox {
  std::vector<RepairRecord> records;  // oldest first (by file name)
  std::vector<std::string> paths;     // the file of each record
  std::vector<std::string> rejected;  // one message per file moved to rejected/
};

// <state_dir>/repairs: the directory `nodehealth repair` writes into.
std::string RepairsDir(const std::string& state_dir);

// Reads the inbox; rejected files are moved aside before this returns. A missing inbox is empty.
RepairInbox CollectRepairs(const std::string& state_dir);

// Moves `paths` (from CollectRepairs) to repairs/applied/ and trims it. Messages for what failed.
std::vector<std::string> FileAppliedRepairs(const std::string& state_dir,
                                            const std::vector<std::string>& paths);

}  // namespace nodehealth::agent
