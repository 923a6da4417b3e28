#include "probes/rdma_loopback/loopback_measure.h"

#include <algorithm>
#include <cerrno>
#include <vector>

namespace nodehealth::rdma {
namespace {

Error TimedOut(uint64_t outstanding) {
  return MakeError("timed out waiting for completions (" + std::to_string(outstanding) +
                       " RDMA WRITEs outstanding)",
                   ETIMEDOUT);
}

}  // namespace

Expected<BandwidthResult> MeasureWriteBandwidth(LoopbackPair& pair, uint64_t bytes, int depth,
                                                double duration_seconds, double deadline_seconds,
                                                const Clock& clock) {
  const double start = clock();
  const double stop_posting = start + duration_seconds;
  uint64_t outstanding = 0;
  uint64_t completed = 0;
  double last_completion = start;
  for (int i = 0; i < depth; ++i) {
    Expected<bool> posted = pair.PostWrite(bytes);
    if (!posted) return posted.error();
    ++outstanding;
  }
  while (outstanding > 0) {
    Expected<int> n = pair.Poll(64);
    if (!n) return n.error();
    const double now = clock();
    if (*n > 0) {
      last_completion = now;
      completed += static_cast<uint64_t>(*n);
      outstanding -= static_cast<uint64_t>(*n);
      if (now < stop_posting) {
        for (int i = 0; i < *n; ++i) {
          Expected<bool> posted = pair.PostWrite(bytes);
          if (!posted) return posted.error();
          ++outstanding;
        }
      }
    } else if (now > deadline_seconds) {
      return TimedOut(outstanding);
    }
  }
  BandwidthResult result;
  result.messages = completed;
  result.seconds = last_completion - start;
  if (result.seconds > 0) {
    result.bytes_per_second = static_cast<double>(completed * bytes) / result.seconds;
  }
  return result;
}

Expected<LatencyResult> MeasureWriteLatency(LoopbackPair& pair, uint64_t bytes,
                                            double duration_seconds, double deadline_seconds,
                                            const Clock& clock) {
  std::vector<double> samples;
  const double stop = clock() + duration_seconds;
  // At least 10 samples, at most a million (memory), within the duration.
  while (samples.size() < 1000000 && (samples.size() < 10 || clock() < stop)) {
    const double posted_at = clock();
    Expected<bool> posted = pair.PostWrite(bytes);
    if (!posted) return posted.error();
    while (true) {
      Expected<int> n = pair.Poll(1);
      if (!n) return n.error();
      const double now = clock();
      if (*n > 0) {
        samples.push_back(now - posted_at);
        break;
      }
      if (now > deadline_seconds) return TimedOut(1);
    }
  }
  std::sort(samples.begin(), samples.end());
  LatencyResult result;
  result.samples = samples.size();
  result.median_seconds = samples[samples.size() / 2];
  result.p99_seconds = samples[std::min(samples.size() - 1, samples.size() * 99 / 100)];
  return result;
}

}  // namespace nodehealth::rdma
