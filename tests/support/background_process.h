// A long-running child process for end-to-end tests and benchmarks (the agent daemon, Prometheus):
// started with posix_spawn in its own process group, stdin from /dev/null (or a file), stdout and
// stderr into files in a private temporary directory that lives as long as the object.
//
// Ownership: the object owns the child; the destructor stops it (SIGTERM to the group, SIGKILL
// after the grace period) and removes the temporary directory.
// Thread safety: not thread-safe; use one object from one thread. ResidentBytes(), CpuSeconds(),
// Stdout() and Stderr() only read files and may be called from another thread while the owner
// does not Stop() or destroy the object.
// Failure: a program that cannot be started leaves started() false and error() set; every call
// stays valid (Running() false, Stop() -1). Every wait is bounded by its timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nodehealth::testing {

// A private directory under $TMPDIR (else /tmp), removed with its contents by the destructor.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix = "nodehealth-e2e");
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }  // empty when it could not be created

 private:
  std::string path_;
};

class BackgroundProcess {
 public:
  // `argv[0]` without a '/' is searched in PATH. `env` entries replace or add variables of the
  // current environment. `stdin_path` empty: /dev/null.
  explicit BackgroundProcess(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env = {},
                             const std::string& stdin_path = "");
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }  // why it did not start
  pid_t pid() const { return pid_; }

  // True while the child has not exited (reaps it when it has).
  bool Running();
  // Waits up to `timeout` for the child to exit; its status (exit code, or 128+signal), nullopt
  // when it is still running (or never started).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // SIGTERM to the process group, up to `grace` for the child to exit, then SIGKILL; whatever is
  // left of the group is killed too. The status as WaitExit; -1 if it never started. Idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Sends `sig` to the child only (not its group); false if it has exited or kill failed.
  bool Signal(int sig);

  // What the child wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  // The last `max_bytes` of stderr and stdout, labelled: for failure messages.
  std::string OutputTail(std::size_t max_bytes = 4096) const;

  // VmRSS from /proc/<pid>/status in bytes; 0 when unavailable (exited, zombie).
  uint64_t ResidentBytes() const;
  // utime+stime from /proc/<pid>/stat in seconds; -1 when unavailable.
  double CpuSeconds() const;

 private:
  void Reaped(int wait_status);

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  bool group_killed_ = false;
  std::string error_;
  ScopedTempDir dir_{"nodehealth-proc"};
  std::string stdout_path_;
  std::string stderr_path_;
};

// Exit status of a waitpid status word: the exit code, or 128+signal.
int ExitStatusOf(int wait_status);

}  // namespace nodehealth::testing
