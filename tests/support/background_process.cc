#include "tests/support/background_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "probes/platform/child_process.h"

extern char** environ;

namespace nodehealth::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Tail(const std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return "..." + text.substr(text.size() - max_bytes);
}

}  // namespace

int ExitStatusOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

ScopedTempDir::ScopedTempDir(const std::string& prefix) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env,
                                     const std::string& stdin_path) {
  if (argv.empty()) {
    error_ = "no program";
    return;
  }
  if (dir_.path().empty()) {
    error_ = std::string("cannot create a temporary directory: ") + std::strerror(errno);
    return;
  }
  stdout_path_ = dir_.path() + "/stdout";
  stderr_path_ = dir_.path() + "/stderr";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string in = stdin_path.empty() ? "/dev/null" : stdin_path;
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Own process group, so that Stop() reaches whatever the program starts; default signal
  // dispositions and an empty mask, so a test runner that ignores SIGTERM does not pass that on.
  const pid_t pid = platform::SpawnInOwnGroup(argv, env, &actions, error_);
  posix_spawn_file_actions_destroy(&actions);
  if (pid < 0) return;
  pid_ = pid;
}

BackgroundProcess::~BackgroundProcess() { Stop(); }

void BackgroundProcess::Reaped(int wait_status) { exit_status_ = ExitStatusOf(wait_status); }

bool BackgroundProcess::Running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    Reaped(status);
    return false;
  }
  if (r < 0 && errno == ECHILD) {  // reaped by someone else: its status is lost
    exit_status_ = -1;
    return false;
  }
  return true;
}

std::optional<int> BackgroundProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (Running()) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return exit_status_;
}

int BackgroundProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (Running()) {
    ::kill(-pid_, SIGTERM);
    if (!WaitExit(grace)) {
      ::kill(-pid_, SIGKILL);
      // SIGKILL cannot be caught; only a process stuck in the kernel outlives this bound.
      WaitExit(std::chrono::seconds(10));
    }
  }
  // The leader may have exited before the rest of its group: nothing it started survives it.
  // Once only: later the group id could name someone else's group.
  if (!group_killed_) ::kill(-pid_, SIGKILL);
  group_killed_ = true;
  return exit_status_.value_or(-1);
}

bool BackgroundProcess::Signal(int sig) {
  if (!Running()) return false;
  return ::kill(pid_, sig) == 0;
}

std::string BackgroundProcess::Stdout() const { return ReadWholeFile(stdout_path_); }
std::string BackgroundProcess::Stderr() const { return ReadWholeFile(stderr_path_); }

std::string BackgroundProcess::OutputTail(std::size_t max_bytes) const {
  std::string out = "--- stderr ---\n" + Tail(Stderr(), max_bytes);
  const std::string std_out = Stdout();
  if (!std_out.empty()) out += "\n--- stdout ---\n" + Tail(std_out, max_bytes);
  return out;
}

uint64_t BackgroundProcess::ResidentBytes() const {
  if (pid_ <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
    return 0;
  }
  return 0;
}

double BackgroundProcess::CpuSeconds() const {
  if (pid_ <= 0) return -1;
  const std::string stat = ReadWholeFile("/proc/" + std::to_string(pid_) + "/stat");
  // The command name (field 2) is in parentheses and may hold spaces and ')'.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  // After the name: state (field 3) ... utime (14), stime (15).
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int n = 3; n <= 13; ++n) {
    if (!(fields >> field)) return -1;
  }
  if (!(fields >> utime >> stime)) return -1;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks <= 0) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

}  // namespace nodehealth::testing
