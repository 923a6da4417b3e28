// CallWithFifoDeadline: runs a call that reads a FIFO and must not block on it. A reader that
// blocks (open(2) of a FIFO without a writer waits for ever) would hang the whole test binary, so
// the call runs on its own thread; after `deadline` the test opens the FIFO's write end, which
// releases a blocked open(2), closes it (the reader then sees end-of-file), and reports the call
// as blocked. Used by the tests of every reader of user-named paths.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace nodehealth::testing {

// Creates a FIFO at `path`; a test failure when it cannot.
inline void MakeFifo(const std::string& path) {
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << "mkfifo " << path;
}

// The call's result; `blocked` is set when it had not returned within `deadline`.
template <class F>
auto CallWithFifoDeadline(const std::string& fifo, F call, bool* blocked,
                          std::chrono::milliseconds deadline = std::chrono::seconds(5))
    -> decltype(call()) {
  using Result = decltype(call());
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  std::thread([promise, call] { promise->set_value(call()); }).detach();
  *blocked = future.wait_for(deadline) != std::future_status::ready;
  while (*blocked && future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
  return future.get();
}

}  // namespace nodehealth::testing
