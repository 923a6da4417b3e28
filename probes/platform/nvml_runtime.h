// NvmlRuntime: runs NVML work on one dedicated thread so that a call that never returns (NVML
// does this on a sick GPU: the driver waits on hardware that no longer answers) cannot hang a
// probe, the agent's scheduler or the process. A caller hands in a function and a deadline; if the
// deadline passes first, the caller gets kTimedOut with the NVML function that is stuck, and the
// runtime is "wedged": later calls fail at once with kWedged (NVML serialises on a global lock, so
// they would hang too) until the stuck call returns, if it ever does.
//
// The library is loaded (dlopen) and initialised (nvmlInit) on the NVML thread on first use, under
// the first caller's deadline: both can hang too.
//
// Contract for `fn`: it runs on the NVML thread and may outlive the caller's wait, so it must
// capture by value only and return its result by value.
//
// Thread safety: Run() may be called from any thread, concurrently. Destruction joins the NVML
// thread unless it is wedged; then the thread is left behind and the process must end with
// std::_Exit (see agent/cli/main.cc), because a stuck call may still return during teardown.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/platform/deadline.h"
#include "probes/platform/nvml_library.h"

namespace nodehealth::platform {

// Outcome of loading and initialising NVML, fixed after the first Run().
struct NvmlStartup {
  std::string library_path;  // what was asked for (--nvml-library)
  bool loaded = false;
  std::string load_error;  // dlopen failure text
  nvml::Return init_return = nvml::kErrorUninitialized;
  std::string init_error;            // nvmlErrorString of init_return
  std::string loaded_file;           // real path of the mapped library
  std::vector<std::string> symbols;  // ResolvedSymbols(), for `nodehealth check -v` diagnostics

  bool ready() const { return loaded && init_return == nvml::kSuccess; }
};

// What a task sees on the NVML thread.
class NvmlSession {
 public:
  NvmlSession(const NvmlStartup& startup, NvmlLibrary* library)
      : startup_(startup), library_(library) {}
  const NvmlStartup& startup() const { return startup_; }
  // Non-null when loaded (initialised or not).
  NvmlLibrary* library() const { return library_; }

 private:
  const NvmlStartup& startup_;
  NvmlLibrary* library_;
};

enum class NvmlCallStatus { kOk, kTimedOut, kWedged };

// Names the work the calling thread hands to NVML while it lives (the agent's round runner names
// each probe's thread after the probe), so that a call that hangs can be attributed:
// NvmlRuntime::StuckCaller. Thread-local; scopes nest (the innermost name counts).
class NvmlCallerScope {
 public:
  explicit NvmlCallerScope(std::string name);
  ~NvmlCallerScope();
  NvmlCallerScope(const NvmlCallerScope&) = delete;
  NvmlCallerScope& operator=(const NvmlCallerScope&) = delete;

 private:
  std::string previous_;
};

template <class R>
struct NvmlOutcome {
  NvmlCallStatus status = NvmlCallStatus::kOk;
  R value{};                // valid with kOk
  std::string stuck_in;     // with kTimedOut/kWedged: "nvmlDeviceGetRemappedRows (since 8.0 s)"
  double nvml_seconds = 0;  // time the task spent on the NVML thread (kOk only)
};

class NvmlRuntime {
 public:
  explicit NvmlRuntime(std::string library_path);
  ~NvmlRuntime();
  NvmlRuntime(const NvmlRuntime&) = delete;
  NvmlRuntime& operator=(const NvmlRuntime&) = delete;

  template <class R, class Fn>
  NvmlOutcome<R> Run(Deadline deadline, Fn fn) {
    auto result = std::make_shared<std::optional<R>>();
    auto body = [result, fn = std::move(fn)](NvmlSession& session) mutable {
      *result = fn(session);
    };
    NvmlOutcome<R> outcome;
    RunErased(deadline, std::move(body), outcome.status, outcome.stuck_in, outcome.nvml_seconds);
    if (outcome.status == NvmlCallStatus::kOk && result->has_value()) {
      outcome.value = std::move(**result);
    }
    return outcome;
  }

  // True while a call that timed out has not returned.
  bool wedged() const;
  // While wedged: the NvmlCallerScope name of the thread whose call hangs ("" when it had none);
  // nullopt otherwise.
  std::optional<std::string> StuckCaller() const;
  // Startup outcome; nullopt before the first Run() completed startup.
  std::optional<NvmlStartup> startup() const;

 private:
  struct State;
  void RunErased(Deadline deadline, std::function<void(NvmlSession&)> body, NvmlCallStatus& status,
                 std::string& stuck_in, double& nvml_seconds);

  std::shared_ptr<State> state_;
};

}  // namespace nodehealth::platform
