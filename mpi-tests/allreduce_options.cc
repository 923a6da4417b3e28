#include "mpi-tests/allreduce_options.h"

#include "probes/util/byte_size.h"
#include "probes/util/text.h"

namespace nodehealth::allreduce {

std::string_view ToString(DataType type) {
  switch (type) {
    case DataType::kFloat:
      return "float";
    case DataType::kDouble:
      return "double";
    case DataType::kInt32:
      return "int32";
  }
  return "?";
}

std::size_t SizeOf(DataType type) { return type == DataType::kDouble ? 8 : 4; }

Expected<uint64_t> ParseSize(std::string_view text) {
  // The shared parser (K, M, G powers of two), capped at 4 GiB: one rank's buffer of floats.
  const Expected<uint64_t> size = ParseByteSize(text);
  if (!size || *size > (4ull << 30)) return Malformed("message size", text);
  return size;
}

double BusBandwidth(double algorithm_bandwidth, int ranks) {
  return ranks > 0 ? algorithm_bandwidth * 2.0 * (ranks - 1) / ranks : 0;
}

std::string_view Usage() {
  return "usage: mpirun -np N nodehealth-allreduce [options]\n"
         "MPI_Allreduce latency and bandwidth, measured as OSU's osu_allreduce does, with the\n"
         "reduced data checked. Exit 0 when every result is correct, 3 when a sum was wrong,\n"
         "2 on bad usage.\n"
         "\n"
         "  --sizes LIST        message sizes in bytes, K/M/G suffixes (8,1K,64K,1M,16M,64M)\n"
         "  --iterations N      timed calls per size (OSU's 1000 below 8 KiB, 100 from 8 KiB)\n"
         "  --warmup N          untimed calls first (OSU's 200 below 8 KiB, 10 from 8 KiB)\n"
         "  --datatype TYPE     float, double or int32 (float)\n"
         "  --time-limit SECS   start no new size after this (60); the output says truncated\n"
         "  --json              one JSON document instead of a table\n"
         "  -h, --help          this text\n";
}

Expected<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      Options help;
      help.help = true;
      return help;
    }
    auto value = [&]() -> Expected<std::string> {
      if (i + 1 >= args.size()) return MakeError(arg + " needs a value");
      return args[++i];
    };
    auto positive = [&](int& out) -> Expected<bool> {
      Expected<std::string> v = value();
      if (!v) return v.error();
      int n = 0;
      if (!ParseWhole(std::string_view(*v), n) || n < 1 || n > 10000000) {
        return MakeError(arg + " must be a positive integer, not \"" + *v + "\"");
      }
      out = n;
      return true;
    };
    if (arg == "--json") {
      o.json = true;
    } else if (arg == "--sizes") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      o.sizes.clear();
      std::string_view rest = *v;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        Expected<uint64_t> size = ParseSize(rest.substr(0, comma));
        if (!size) return size.error();
        o.sizes.push_back(*size);
        rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      }
      if (o.sizes.empty()) return MakeError("--sizes needs at least one size");
    } else if (arg == "--iterations") {
      int n = 0;
      if (Expected<bool> ok = positive(n); !ok) return ok.error();
      o.iterations_small = o.iterations_large = n;
    } else if (arg == "--warmup") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      int n = 0;
      if (!ParseWhole(std::string_view(*v), n) || n < 0 || n > 10000000) {
        return MakeError("--warmup must be a non-negative integer");
      }
      o.warmup_small = o.warmup_large = n;
    } else if (arg == "--datatype") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      if (*v == "float") {
        o.datatype = DataType::kFloat;
      } else if (*v == "double") {
        o.datatype = DataType::kDouble;
      } else if (*v == "int32") {
        o.datatype = DataType::kInt32;
      } else {
        return MakeError("--datatype must be float, double or int32");
      }
    } else if (arg == "--time-limit") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      int seconds = 0;
      if (!ParseWhole(std::string_view(*v), seconds) || seconds < 1) {
        return MakeError("--time-limit must be a positive number of seconds");
      }
      o.time_limit_seconds = seconds;
    } else {
      return MakeError("unknown option \"" + arg + "\"");
    }
  }
  for (uint64_t size : o.sizes) {
    if (size % SizeOf(o.datatype) != 0) {
      return MakeError("size " + std::to_string(size) + " is not a multiple of the " +
                       std::string(ToString(o.datatype)) + " size");
    }
  }
  return o;
}

}  // namespace nodehealth::allreduce
