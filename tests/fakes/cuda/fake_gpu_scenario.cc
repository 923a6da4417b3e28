#include "tests/fakes/cuda/fake_gpu_scenario.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "tests/fakes/cuda/cuda_results.h"

namespace nodehealth::fake_gpu {
namespace {

constexpr std::size_t kMaxScenarioBytes = 1 << 20;

struct ResultName {
  std::string_view name;
  int value;
};
#define NODEHEALTH_RESULT_NAME(name, value, line, text) {#name, value},
constexpr ResultName kCudaResultNames[] = {NODEHEALTH_FAKE_CUDA_RESULTS(NODEHEALTH_RESULT_NAME)};
#undef NODEHEALTH_RESULT_NAME
// ncclResult_t (nccl.h of NCCL 2.28.9, lines 42-49).
constexpr ResultName kNcclResultNames[] = {
    {"ncclSuccess", 0},       {"ncclUnhandledCudaError", 1}, {"ncclSystemError", 2},
    {"ncclInternalError", 3}, {"ncclInvalidArgument", 4},    {"ncclInvalidUsage", 5},
    {"ncclRemoteError", 6},   {"ncclInProgress", 7}};

// A line split into words; double quotes group words and are dropped; `#` outside quotes ends it.
bool Tokenize(std::string_view line, std::vector<std::string>* words, std::string* error) {
  std::string word;
  bool in_word = false;
  bool quoted = false;
  for (char c : line) {
    if (quoted) {
      if (c == '"') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '"') {
      quoted = in_word = true;
    } else if (c == '#') {
      break;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) words->push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) {
    *error = "unterminated quote";
    return false;
  }
  if (in_word) words->push_back(std::move(word));
  return true;
}

bool ParseInteger(const std::string& text, long long* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool ParseRate(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(*value) && *value > 0;
}

bool ParseResult(const std::string& text, const ResultName* names, std::size_t count, int* value) {
  long long number = 0;
  if (ParseInteger(text, &number)) {
    *value = static_cast<int>(number);
    return number >= 0 && number <= 1000000;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (names[i].name == text) {
      *value = names[i].value;
      return true;
    }
  }
  return false;
}

// "0000:3b:00.0" -> "0000:3B:00.0"; domain of 4 or 8 hex digits.
bool ParseBusId(const std::string& text, std::string* bus_id) {
  unsigned domain = 0, bus = 0, device = 0, function = 0;
  std::size_t colon = text.find(':');
  if (colon != 4 && colon != 8) return false;
  if (text.size() != colon + 8 || text[colon + 3] != ':' || text[colon + 6] != '.') return false;
  auto hex = [&](std::size_t from, std::size_t length, unsigned* out) {
    const char* begin = text.data() + from;
    auto [ptr, ec] = std::from_chars(begin, begin + length, *out, 16);
    return ec == std::errc() && ptr == begin + length;
  };
  if (!hex(0, colon, &domain) || !hex(colon + 1, 2, &bus) || !hex(colon + 4, 2, &device) ||
      !hex(colon + 7, 1, &function) || device > 0x1f || function > 7) {
    return false;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04X:%02X:%02X.%X", domain, bus, device, function);
  *bus_id = buffer;
  return true;
}

// "cuMemAlloc_v2" -> "cuMemAlloc" when that is a known entry point.
template <std::size_t N>
bool EntryPoint(const std::string& text, const std::array<std::string_view, N>& known,
                std::string* name) {
  std::string base = text;
  if (base.size() > 3 && base.compare(base.size() - 3, 3, "_v2") == 0) base.resize(base.size() - 3);
  if (std::find(known.begin(), known.end(), base) == known.end()) return false;
  *name = base;
  return true;
}

struct PairLine {
  std::size_t line;
  std::string source, destination;
  std::optional<double> gbps;  // nullopt: no_peer
};

class Parser {
 public:
  std::optional<Scenario> Parse(std::string_view text, std::string* error) {
    std::size_t line_number = 0;
    while (!text.empty()) {
      std::size_t end = text.find('\n');
      std::string_view line = text.substr(0, end);
      text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
      ++line_number;
      std::vector<std::string> words;
      std::string what;
      if (!Tokenize(line, &words, &what) ||
          (!words.empty() && !Directive(words, line_number, &what))) {
        *error = "line " + std::to_string(line_number) + ": " + what;
        return std::nullopt;
      }
    }
    for (const PairLine& pair : pairs_) {
      int source = Ordinal(pair.source), destination = Ordinal(pair.destination);
      if (source < 0 || destination < 0 || source == destination) {
        *error = "line " + std::to_string(pair.line) + ": " + pair.source + " -> " +
                 pair.destination + " is not a pair of two GPUs the gpu lines declare";
        return std::nullopt;
      }
      if (pair.gbps) {
        scenario_.peer[{source, destination}] = *pair.gbps;
      } else {
        scenario_.no_peer.insert({source, destination});
      }
    }
    return std::move(scenario_);
  }

 private:
  int Ordinal(const std::string& text) const {
    std::string bus_id;
    if (!ParseBusId(text, &bus_id)) return -1;
    for (std::size_t i = 0; i < scenario_.gpus.size(); ++i) {
      if (scenario_.gpus[i].bus_id == bus_id) return static_cast<int>(i);
    }
    return -1;
  }

  bool Gpu(const std::vector<std::string>& words, std::string* what) {
    fake_gpu::Gpu gpu;
    if (words.size() < 2 || !ParseBusId(words[1], &gpu.bus_id)) {
      *what = "gpu needs a bus id such as 0000:19:00.0";
      return false;
    }
    if (Ordinal(gpu.bus_id) >= 0) {
      *what = "gpu " + gpu.bus_id + " is declared twice";
      return false;
    }
    for (std::size_t i = 2; i < words.size(); ++i) {
      std::size_t equals = words[i].find('=');
      std::string key = words[i].substr(0, equals);
      std::string value = equals == std::string::npos ? "" : words[i].substr(equals + 1);
      long long number = 0;
      bool integer = ParseInteger(value, &number) && number > 0 && number < (1LL << 40);
      bool ok = true;
      if (key == "name" && equals != std::string::npos) {
        gpu.name = value;
      } else if (key == "memory_mib") {
        ok = integer;
        gpu.memory_mib = static_cast<std::uint64_t>(number);
      } else if (key == "h2d_gbps") {
        ok = ParseRate(value, &gpu.h2d_gbps);
      } else if (key == "d2h_gbps") {
        ok = ParseRate(value, &gpu.d2h_gbps);
      } else if (key == "d2d_gbps") {
        ok = ParseRate(value, &gpu.d2d_gbps);
      } else if (key == "sm_clock_mhz" || key == "memory_clock_mhz") {
        ok = integer && number < 1000000;
        (key == "sm_clock_mhz" ? gpu.sm_clock_mhz : gpu.memory_clock_mhz) =
            static_cast<int>(number);
      } else {
        *what = "unknown gpu option \"" + words[i] + "\"";
        return false;
      }
      if (!ok) {
        *what = "bad value in \"" + words[i] + "\"";
        return false;
      }
    }
    scenario_.gpus.push_back(std::move(gpu));
    return true;
  }

  template <std::size_t N>
  bool Failure(const std::vector<std::string>& words, const std::array<std::string_view, N>& known,
               const ResultName* names, std::size_t name_count,
               std::map<std::string, fake_gpu::Failure>* failures, std::string* what) {
    std::string name;
    fake_gpu::Failure failure;
    if (words.size() < 3 || words.size() > 4 || !EntryPoint(words[1], known, &name) ||
        !ParseResult(words[2], names, name_count, &failure.result) ||
        (words.size() == 4 &&
         (words[3].rfind("after=", 0) != 0 || !ParseInteger(words[3].substr(6), &failure.after) ||
          failure.after < 0))) {
      *what = words[0] + " needs a known entry point, a result and optionally after=N";
      return false;
    }
    (*failures)[name] = failure;
    return true;
  }

  bool Directive(const std::vector<std::string>& words, std::size_t line, std::string* what) {
    const std::string& key = words[0];
    long long number = 0;
    auto one_integer = [&] { return words.size() == 2 && ParseInteger(words[1], &number); };
    std::string name;
    if (key == "gpu") return Gpu(words, what);
    if (key == "peer_gbps" && words.size() == 2 && ParseRate(words[1], &scenario_.peer_gbps)) {
      return true;
    }
    double gbps = 0;
    if (key == "peer" && words.size() == 4 && ParseRate(words[3], &gbps)) {
      pairs_.push_back({line, words[1], words[2], gbps});
      return true;
    }
    if (key == "no_peer" && words.size() == 3) {
      pairs_.push_back({line, words[1], words[2], std::nullopt});
      return true;
    }
    int result = 0;
    if (key == "cuInit" && words.size() == 2 &&
        ParseResult(words[1], kCudaResultNames, std::size(kCudaResultNames), &result)) {
      scenario_.cu_init_result = result;
      return true;
    }
    if (key == "driver_version" && one_integer()) {
      scenario_.driver_version = static_cast<int>(number);
      return true;
    }
    if (key == "nccl_version" && one_integer()) {
      scenario_.nccl_version = static_cast<int>(number);
      return true;
    }
    if (key == "fail") {
      return Failure(words, kCudaEntryPoints, kCudaResultNames, std::size(kCudaResultNames),
                     &scenario_.fail, what);
    }
    if (key == "nccl_fail") {
      return Failure(words, kNcclEntryPoints, kNcclResultNames, std::size(kNcclResultNames),
                     &scenario_.nccl_fail, what);
    }
    if (key == "hang" && words.size() == 2 && EntryPoint(words[1], kCudaEntryPoints, &name)) {
      scenario_.hang.insert(name);
      return true;
    }
    if (key == "nccl_hang" && words.size() == 2 && EntryPoint(words[1], kNcclEntryPoints, &name)) {
      scenario_.nccl_hang.insert(name);
      return true;
    }
    long long element = 0;
    if (key == "nccl_wrong_element" && words.size() == 3 && ParseInteger(words[1], &number) &&
        ParseInteger(words[2], &element) && number >= 0 && element >= 0) {
      scenario_.nccl_wrong_elements.push_back(
          {static_cast<int>(number), static_cast<std::uint64_t>(element)});
      return true;
    }
    if (key == "nccl_net_gbps" && words.size() == 2 &&
        ParseRate(words[1], &scenario_.nccl_net_gbps)) {
      return true;
    }
    if (key == "nccl_async_error" && words.size() == 2 &&
        ParseResult(words[1], kNcclResultNames, std::size(kNcclResultNames), &result)) {
      scenario_.nccl_async_error = result;
      return true;
    }
    *what = "unknown or malformed directive \"" + key + "\" (see fake_gpu_scenario.h)";
    return false;
  }

  Scenario scenario_;
  std::vector<PairLine> pairs_;
};

}  // namespace

std::optional<Scenario> ParseScenario(std::string_view text, std::string* error) {
  return Parser().Parse(text, error);
}

Scenario LoadScenarioOrDie() {
  const char* path = std::getenv("NODEHEALTH_FAKE_GPU_SCENARIO");
  std::string text(kDefaultScenario);
  std::string source = "the default scenario";
  if (path != nullptr) {
    source = path;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    if (!in || contents.str().size() > kMaxScenarioBytes) {
      std::fprintf(stderr, "fake GPU libraries: cannot read NODEHEALTH_FAKE_GPU_SCENARIO=%s\n",
                   path);
      std::abort();
    }
    text = contents.str();
  }
  std::string error;
  std::optional<Scenario> scenario = ParseScenario(text, &error);
  if (!scenario) {
    std::fprintf(stderr, "fake GPU libraries: %s: %s\n", source.c_str(), error.c_str());
    std::abort();
  }
  return std::move(*scenario);
}

}  // namespace nodehealth::fake_gpu
