// The two measurements of the RDMA loopback, written against LoopbackPair so the fake provider
// drives them with a simulated clock.
//
// Bandwidth follows perftest's ib_write_bw: keep `depth` WRITEs of `bytes` in flight, post a new
// one for every completion until the duration is over, then drain; bandwidth = bytes completed /
// (last completion - first post). Latency: one WRITE of `bytes` at a time, timed from post to its
// completion (a full round trip: the WRITE and its acknowledgement), median and 99th percentile.
// That is twice what ib_write_lat prints (half a ping-pong); bench/README.md compares the two.
//
// Both stop at `deadline_seconds` on the clock even if completions never come (a hung HCA):
// the result is then an Error ("timed out waiting for completions").
#pragma once

#include <cstdint>
#include <functional>

#include "probes/rdma_loopback/rdma_provider.h"
#include "probes/util/expected.h"

namespace nodehealth::rdma {

using Clock = std::function<double()>;  // seconds, monotonic

struct BandwidthResult {
  double bytes_per_second = 0;
  uint64_t messages = 0;
  double seconds = 0;
};

struct LatencyResult {
  double median_seconds = 0;
  double p99_seconds = 0;
  uint64_t samples = 0;
};

Expected<BandwidthResult> MeasureWriteBandwidth(LoopbackPair& pair, uint64_t bytes, int depth,
                                                double duration_seconds, double deadline_seconds,
                                                const Clock& clock);

Expected<LatencyResult> MeasureWriteLatency(LoopbackPair& pair, uint64_t bytes,
                                            double duration_seconds, double deadline_seconds,
                                            const Clock& clock);

}  // namespace nodehealth::rdma
