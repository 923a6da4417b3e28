// nodehealth-allreduce: MPI_Allreduce latency and bandwidth, measured the way OSU's osu_allreduce
// does (see README.md in this directory), with the reduced data checked. Rank 0 prints a table or,
// with --json, one JSON document. Exit 0 when every result is correct, 3 when a sum was wrong,
// 2 on bad usage.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "mpi-tests/allreduce_options.h"

namespace ar = nodehealth::allreduce;

namespace {

struct Result {
  uint64_t size = 0;
  int iterations = 0;
  double avg = 0, min = 0, max = 0;  // seconds per call, over ranks
  bool correct = true;
};

MPI_Datatype ToMpi(ar::DataType type) {
  switch (type) {
    case ar::DataType::kFloat:
      return MPI_FLOAT;
    case ar::DataType::kDouble:
      return MPI_DOUBLE;
    case ar::DataType::kInt32:
      return MPI_INT32_T;
  }
  return MPI_FLOAT;
}

// Small integers, exact in every type: rank r puts (r + 1) * (i % 7 + 1) at element i, so the
// sum over n ranks is n(n+1)/2 * (i % 7 + 1).
template <class T>
void Fill(void* buffer, std::size_t count, int rank) {
  T* p = static_cast<T*>(buffer);
  for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<T>((rank + 1) * (i % 7 + 1));
}

template <class T>
bool Check(const void* buffer, std::size_t count, int ranks) {
  const T* p = static_cast<const T*>(buffer);
  const double scale = ranks * (ranks + 1) / 2.0;
  for (std::size_t i = 0; i < count; ++i) {
    if (static_cast<double>(p[i]) != scale * static_cast<double>(i % 7 + 1)) return false;
  }
  return true;
}

void FillFor(ar::DataType t, void* b, std::size_t n, int rank) {
  if (t == ar::DataType::kDouble) return Fill<double>(b, n, rank);
  if (t == ar::DataType::kInt32) return Fill<int32_t>(b, n, rank);
  Fill<float>(b, n, rank);
}

bool CheckFor(ar::DataType t, const void* b, std::size_t n, int ranks) {
  if (t == ar::DataType::kDouble) return Check<double>(b, n, ranks);
  if (t == ar::DataType::kInt32) return Check<int32_t>(b, n, ranks);
  return Check<float>(b, n, ranks);
}

int CountNodes(MPI_Comm comm) {
  MPI_Comm shared;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &shared);
  int local_rank = 0;
  MPI_Comm_rank(shared, &local_rank);
  MPI_Comm_free(&shared);
  int leader = local_rank == 0 ? 1 : 0;
  int nodes = 0;
  MPI_Allreduce(&leader, &nodes, 1, MPI_INT, MPI_SUM, comm);
  return nodes;
}

}  // namespace

int main(int argc, char** argv) {
  // --help before MPI_Init: it needs no MPI job (and works without mpirun).
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (std::find_if(args.begin(), args.end(),
                   [](const std::string& a) { return a == "--help" || a == "-h"; }) != args.end()) {
    const std::string_view usage = ar::Usage();
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return 0;
  }
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  nodehealth::Expected<ar::Options> parsed = ar::ParseOptions(args);
  if (!parsed) {
    if (rank == 0)
      std::fprintf(stderr, "nodehealth-allreduce: %s\n", parsed.error().message.c_str());
    MPI_Finalize();
    return 2;
  }
  const ar::Options& o = *parsed;
  const std::size_t element = ar::SizeOf(o.datatype);
  const uint64_t largest = *std::max_element(o.sizes.begin(), o.sizes.end());
  // Allocated once at the largest size and touched before any timing (OSU does the same).
  std::vector<char> send(largest), receive(largest);
  FillFor(o.datatype, send.data(), largest / element, rank);
  std::memset(receive.data(), 0, largest);
  const int nodes = CountNodes(MPI_COMM_WORLD);

  std::vector<Result> results;
  bool truncated = false;
  const double started = MPI_Wtime();
  for (uint64_t size : o.sizes) {
    // Every rank must agree to go on, or the collective below would hang.
    int go = MPI_Wtime() - started < o.time_limit_seconds ? 1 : 0;
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!go) {
      truncated = true;
      break;
    }
    const bool large = size >= o.large_from_bytes;
    const int iterations = large ? o.iterations_large : o.iterations_small;
    const int warmup = large ? o.warmup_large : o.warmup_small;
    const int count = static_cast<int>(size / element);
    double timer = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < iterations + warmup; ++i) {
      const double t0 = MPI_Wtime();
      MPI_Allreduce(send.data(), receive.data(), count, ToMpi(o.datatype), MPI_SUM, MPI_COMM_WORLD);
      const double t1 = MPI_Wtime();
      if (i >= warmup) timer += t1 - t0;
      MPI_Barrier(MPI_COMM_WORLD);  // outside the timed region, as in osu_allreduce
    }
    const double latency = timer / iterations;
    Result r;
    r.size = size;
    r.iterations = iterations;
    MPI_Reduce(&latency, &r.min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&latency, &r.max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&latency, &r.avg, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    r.avg /= ranks;
    int wrong =
        CheckFor(o.datatype, receive.data(), static_cast<std::size_t>(count), ranks) ? 0 : 1;
    int wrong_anywhere = 0;
    MPI_Allreduce(&wrong, &wrong_anywhere, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    r.correct = wrong_anywhere == 0;
    results.push_back(r);
    std::memset(receive.data(), 0, size);
  }

  bool all_correct = true;
  for (const Result& r : results) all_correct &= r.correct;
  if (rank == 0) {
    if (o.json) {
      std::printf(
          "{\"schema\": \"nodehealth-allreduce/1\", \"ranks\": %d, \"nodes\": %d, "
          "\"datatype\": \"%s\", \"truncated\": %s, \"correct\": %s, \"results\": [",
          ranks, nodes, std::string(ar::ToString(o.datatype)).c_str(), truncated ? "true" : "false",
          all_correct ? "true" : "false");
      for (std::size_t i = 0; i < results.size(); ++i) {
        const Result& r = results[i];
        const double algbw = r.avg > 0 ? r.size / r.avg : 0;
        std::printf(
            "%s\n  {\"size_bytes\": %llu, \"iterations\": %d, \"latency_seconds\": "
            "{\"avg\": %.9g, \"min\": %.9g, \"max\": %.9g}, \"algbw_bytes_per_second\": "
            "%.6g, \"busbw_bytes_per_second\": %.6g, \"correct\": %s}",
            i ? "," : "", static_cast<unsigned long long>(r.size), r.iterations, r.avg, r.min,
            r.max, algbw, ar::BusBandwidth(algbw, ranks), r.correct ? "true" : "false");
      }
      std::printf("\n]}\n");
    } else {
      std::printf("# nodehealth-allreduce: %d ranks on %d nodes, %s, sum\n", ranks, nodes,
                  std::string(ar::ToString(o.datatype)).c_str());
      std::printf("%12s %12s %12s %12s %14s %14s %8s\n", "size(B)", "avg(us)", "min(us)", "max(us)",
                  "algbw(GB/s)", "busbw(GB/s)", "check");
      for (const Result& r : results) {
        const double algbw = r.avg > 0 ? r.size / r.avg : 0;
        std::printf("%12llu %12.2f %12.2f %12.2f %14.3f %14.3f %8s\n",
                    static_cast<unsigned long long>(r.size), r.avg * 1e6, r.min * 1e6, r.max * 1e6,
                    algbw / 1e9, ar::BusBandwidth(algbw, ranks) / 1e9, r.correct ? "ok" : "WRONG");
      }
      if (truncated) std::printf("# stopped at the time limit\n");
    }
    std::fflush(stdout);
  }
  MPI_Finalize();
  return all_correct ? 0 : 3;
}
