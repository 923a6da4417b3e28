// Deadline: a point on the monotonic clock by which work must finish. Passed by value; cheap.
#pragma once

#include <algorithm>
#include <chrono>

namespace nodehealth::platform {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline At(Clock::time_point at) { return Deadline(at); }
  static Deadline In(Clock::duration from_now) { return Deadline(Clock::now() + from_now); }
  static Deadline Never() { return Deadline(Clock::time_point::max()); }

  Clock::time_point time_point() const { return at_; }
  bool expired() const { return Clock::now() >= at_; }
  Clock::duration remaining() const {
    const auto now = Clock::now();
    return at_ > now ? at_ - now : Clock::duration::zero();
  }
  Deadline EarlierOf(Deadline other) const { return Deadline(std::min(at_, other.at_)); }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}
  Clock::time_point at_;
};

// Seconds as a double, for messages and measurements.
inline double ToSeconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace nodehealth::platform
