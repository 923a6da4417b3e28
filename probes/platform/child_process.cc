#include "probes/platform/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

extern char** environ;

namespace nodehealth::platform {
namespace {

// Waits for `pid` until `until`; true when it was reaped.
bool WaitUntil(pid_t pid, int& status, std::chrono::steady_clock::time_point until) {
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;  // not our child any more
    if (std::chrono::steady_clock::now() >= until) return false;
    ::usleep(10000);
  }
}

// The children RunChild is waiting for, by pid (= process group), for TerminateAllChildren.
struct Children {
  std::mutex mutex;
  std::set<pid_t> running;
  std::set<pid_t> terminated;  // signalled by TerminateAllChildren, not yet reaped
  bool terminating = false;
};
Children& AllChildren() {
  static Children* children = new Children();  // never destroyed: threads may outlive main
  return *children;
}

}  // namespace

pid_t SpawnInOwnGroup(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env,
                      const posix_spawn_file_actions_t* actions, std::string& error) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so a timeout kills it whole. The agent blocks SIGTERM, SIGHUP, ... in every
  // thread to receive them with sigwait, and ignores SIGPIPE: the child must start with an empty
  // mask and default handlers, or mpirun would ignore our SIGTERM.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (!env.contains(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  pid_t pid = -1;
  const int spawned = argv[0].find('/') == std::string::npos
                          ? ::posix_spawnp(&pid, argp[0], actions, &attr, argp.data(), envp.data())
                          : ::posix_spawn(&pid, argp[0], actions, &attr, argp.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) {
    error = "cannot start " + argv[0] + ": " + std::strerror(spawned);
    return -1;
  }
  return pid;
}

ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, Deadline deadline,
                     std::size_t max_output, std::chrono::milliseconds kill_grace) {
  ChildResult result;
  if (argv.empty()) {
    result.error = "no program";
    return result;
  }
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  std::string spawn_error;
  pid_t pid = -1;
  {
    // Spawned and registered under one lock: TerminateAllChildren sees every child it must end.
    Children& children = AllChildren();
    std::lock_guard lock(children.mutex);
    if (children.terminating) {
      spawn_error = "not started: the process is stopping";
    } else {
      pid = SpawnInOwnGroup(argv, env, &actions, spawn_error);
      if (pid > 0) children.running.insert(pid);
    }
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.error = spawn_error;
    return result;
  }
  result.started = true;

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    const int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1000));
    if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[65536];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& sink = i == 0 ? result.out : result.err;
      if (sink.size() < max_output) {
        sink.append(buffer,
                    std::min<std::size_t>(static_cast<std::size_t>(n), max_output - sink.size()));
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int status = 0;
  if (result.timed_out) {
    ::kill(-pid, SIGTERM);
    if (!WaitUntil(pid, status, std::chrono::steady_clock::now() + kill_grace)) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    // The leader (mpirun) may exit on SIGTERM before its children do: whatever is left of the
    // group goes too.
    ::kill(-pid, SIGKILL);
  } else {
    // Output closed: the child is exiting; a child that closed its pipes but lingers is still
    // bounded by the deadline.
    if (!WaitUntil(pid, status, deadline.time_point())) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
  }
  {
    Children& children = AllChildren();
    std::lock_guard lock(children.mutex);
    children.running.erase(pid);
    result.terminated = children.terminated.erase(pid) > 0;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status) && !result.timed_out) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

int TerminateAllChildren(std::chrono::milliseconds grace) {
  Children& children = AllChildren();
  const auto still_running = [&] {
    std::lock_guard lock(children.mutex);
    return children.running;
  };
  {
    std::lock_guard lock(children.mutex);
    children.terminating = true;
    for (const pid_t pid : children.running) {
      children.terminated.insert(pid);
      ::kill(-pid, SIGTERM);
    }
  }
  const auto wait_until_gone = [&](std::chrono::steady_clock::time_point until) {
    while (!still_running().empty() && std::chrono::steady_clock::now() < until) ::usleep(10000);
  };
  wait_until_gone(std::chrono::steady_clock::now() + grace);
  for (const pid_t pid : still_running()) ::kill(-pid, SIGKILL);
  wait_until_gone(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  return static_cast<int>(still_running().size());
}

}  // namespace nodehealth::platform
