// Command-line options of nodehealth-allreduce, parsed without MPI so they can be unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::allreduce {

enum class DataType { kFloat, kDouble, kInt32 };
std::string_view ToString(DataType type);
std::size_t SizeOf(DataType type);

struct Options {
  std::vector<uint64_t> sizes = {8, 1024, 65536, 1u << 20, 16u << 20, 64u << 20};  // bytes
  // OSU micro-benchmarks' defaults: 1000 iterations and 200 warm-up below 8 KiB, 100 and 10 above.
  int iterations_small = 1000;
  int iterations_large = 100;
  int warmup_small = 200;
  int warmup_large = 10;
  uint64_t large_from_bytes = 8192;
  DataType datatype = DataType::kFloat;
  double time_limit_seconds = 60;  // stop starting new sizes after this
  bool json = false;
  bool help = false;  // --help or -h: print Usage() and exit 0, nothing else parsed
};

// What --help prints: every option with its default.
std::string_view Usage();

// "--sizes 8,1K,1M --iterations 50 --warmup 5 --datatype double --time-limit 30 --json".
// --iterations/--warmup set both the small- and large-message values.
Expected<Options> ParseOptions(const std::vector<std::string>& args);

// "1K" -> 1024, "64M" -> 67108864, "8" -> 8.
Expected<uint64_t> ParseSize(std::string_view text);

// Bus bandwidth as nccl-tests defines it for all-reduce: algbw x 2(n-1)/n.
double BusBandwidth(double algorithm_bandwidth, int ranks);

}  // namespace nodehealth::allreduce
