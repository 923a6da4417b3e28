#include "probes/platform/nvml_runtime.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

namespace nodehealth::platform {
namespace {

using Clock = std::chrono::steady_clock;

thread_local std::string t_caller;  // NvmlCallerScope

struct Task {
  std::function<void(NvmlSession&)> body;
  std::string caller;  // who handed it in (NvmlCallerScope), for StuckCaller
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool abandoned = false;  // the caller gave up before the task started: skip it
  double seconds = 0;
};

}  // namespace

struct NvmlRuntime::State {
  std::string library_path;
  std::mutex mutex;
  std::condition_variable work_cv;
  std::deque<std::shared_ptr<Task>> queue;
  bool stopping = false;
  bool stopped = false;  // Loop() returned
  std::condition_variable stopped_cv;

  // Touched only by the NVML thread, except `startup` (copied out under `mutex`).
  std::unique_ptr<NvmlLibrary> library;
  bool started = false;
  std::optional<NvmlStartup> startup;

  // The task in flight and when it started, for timeout messages; guarded by `mutex`.
  std::shared_ptr<Task> running;
  Clock::time_point running_since;
  bool wedged = false;

  void Start() {
    NvmlStartup s;
    s.library_path = library_path;
    Expected<std::unique_ptr<NvmlLibrary>> opened = NvmlLibrary::Open(library_path);
    if (!opened) {
      s.load_error = opened.error().message;
      s.init_return = nvml::kErrorLibraryNotFound;
    } else {
      library = std::move(*opened);
      s.loaded = true;
      s.loaded_file = library->loaded_file();
      s.symbols = library->ResolvedSymbols();
      {
        std::lock_guard lock(mutex);
        startup = s;  // visible while nvmlInit runs, so a hang there can be described
      }
      s.init_return = library->Init();
      s.init_error = s.init_return == nvml::kSuccess ? "" : library->ErrorString(s.init_return);
    }
    std::lock_guard lock(mutex);
    startup = std::move(s);
    started = true;
  }

  void Loop() {
    while (true) {
      std::shared_ptr<Task> task;
      {
        std::unique_lock lock(mutex);
        work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) break;  // stopping with nothing left
        task = std::move(queue.front());
        queue.pop_front();
        {
          std::lock_guard task_lock(task->mutex);
          if (task->abandoned) continue;
        }
        running = task;
        running_since = Clock::now();
      }
      const auto begin = Clock::now();
      if (!started) Start();
      NvmlSession session(*startup, library.get());
      task->body(session);
      const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
      {
        std::lock_guard lock(mutex);
        running.reset();
        wedged = false;  // the stuck call (if any) came back
      }
      std::lock_guard task_lock(task->mutex);
      task->seconds = seconds;
      task->done = true;
      task->done_cv.notify_all();
    }
    // Orderly stop: release NVML's reference (nvmlShutdown is reference counted).
    if (library && startup && startup->ready()) library->Shutdown();
    std::lock_guard lock(mutex);
    stopped = true;
    stopped_cv.notify_all();
  }

  std::string DescribeStuck() {
    // Caller holds `mutex`.
    const char* call = library ? library->current_call() : nullptr;
    std::string what = call ? call : (started ? "NVML work" : "dlopen/nvmlInit");
    char since[64];
    std::snprintf(since, sizeof since, " (running for %.1f s)",
                  std::chrono::duration<double>(Clock::now() - running_since).count());
    return what + since;
  }
};

NvmlCallerScope::NvmlCallerScope(std::string name) : previous_(std::move(t_caller)) {
  t_caller = std::move(name);
}

NvmlCallerScope::~NvmlCallerScope() { t_caller = std::move(previous_); }

NvmlRuntime::NvmlRuntime(std::string library_path) : state_(std::make_shared<State>()) {
  state_->library_path = std::move(library_path);
  std::thread([state = state_] { state->Loop(); }).detach();
}

NvmlRuntime::~NvmlRuntime() {
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  for (auto& task : state_->queue) {
    std::lock_guard task_lock(task->mutex);
    task->abandoned = true;
  }
  state_->queue.clear();
  state_->work_cv.notify_all();
  // Give a healthy NVML a moment to shut down before the process goes on (and perhaps exits). A
  // stuck one is left behind: the detached thread keeps `state_` alive and the process exits
  // around it.
  if (!state_->wedged) {
    state_->stopped_cv.wait_for(lock, std::chrono::seconds(2), [&] { return state_->stopped; });
  }
}

bool NvmlRuntime::wedged() const {
  std::lock_guard lock(state_->mutex);
  return state_->wedged;
}

std::optional<std::string> NvmlRuntime::StuckCaller() const {
  std::lock_guard lock(state_->mutex);
  if (!state_->wedged || !state_->running) return std::nullopt;
  return state_->running->caller;
}

std::optional<NvmlStartup> NvmlRuntime::startup() const {
  std::lock_guard lock(state_->mutex);
  if (!state_->started) return std::nullopt;
  return state_->startup;
}

void NvmlRuntime::RunErased(Deadline deadline, std::function<void(NvmlSession&)> body,
                            NvmlCallStatus& status, std::string& stuck_in, double& nvml_seconds) {
  auto task = std::make_shared<Task>();
  task->body = std::move(body);
  task->caller = t_caller;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->wedged) {
      status = NvmlCallStatus::kWedged;
      stuck_in = state_->DescribeStuck();
      return;
    }
    state_->queue.push_back(task);
  }
  state_->work_cv.notify_one();

  std::unique_lock task_lock(task->mutex);
  if (task->done_cv.wait_until(task_lock, deadline.time_point(), [&] { return task->done; })) {
    status = NvmlCallStatus::kOk;
    nvml_seconds = task->seconds;
    return;
  }
  task->abandoned = true;
  task_lock.unlock();

  std::lock_guard lock(state_->mutex);
  status = NvmlCallStatus::kTimedOut;
  if (state_->running) {
    // Something is in flight past a caller's deadline: NVML is stuck.
    state_->wedged = true;
    stuck_in = state_->DescribeStuck();
  } else {
    stuck_in = "queued behind other NVML work";
  }
}

}  // namespace nodehealth::platform
