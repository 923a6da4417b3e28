// The depth pre-scans that run before every TOML, JSON and XML parse of a file a person names
// (probes/util/nesting_depth.h): what they add to loading a profile, and how long refusing a
// 1 MiB bomb takes. Target: the scan costs a small fraction of the parse it protects.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "agent/config/profile_loader.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth {
namespace {

std::string ShippedProfile() {
  std::ifstream in(NODEHEALTH_SOURCE_DIR "/profiles/azure-nd96isr-h100-v5.toml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// About 1 MiB of ordinary TOML: tables, keys, strings with dots and brackets, comments.
std::string LargeToml() {
  std::string out;
  for (int i = 0; out.size() < (1u << 20); ++i) {
    out += "[section_" + std::to_string(i) + ".sub]\n# a comment with [brackets] and a.b.c\n";
    out += "name = \"value.with.dots [x]\"\nlist = [1, 2, [3, 4], {a = 'b'}]\n";
  }
  return out;
}

void BM_TomlDepthScan_ShippedProfile(benchmark::State& state) {
  const std::string text = ShippedProfile();
  for (auto _ : state) benchmark::DoNotOptimize(CheckTomlDepth(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TomlDepthScan_ShippedProfile);

void BM_ParseProfile_ShippedProfile(benchmark::State& state) {  // scan + toml++ + the schema
  const std::string text = ShippedProfile();
  for (auto _ : state) benchmark::DoNotOptimize(ParseProfile(text, "p.toml"));
}
BENCHMARK(BM_ParseProfile_ShippedProfile);

void BM_TomlDepthScan_1MiB(benchmark::State& state) {
  const std::string text = LargeToml();
  for (auto _ : state) benchmark::DoNotOptimize(CheckTomlDepth(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TomlDepthScan_1MiB)->Unit(benchmark::kMillisecond);

void BM_TomlDepthScan_DottedKeyBomb(benchmark::State& state) {  // refused at level 65
  std::string text = "a";
  while (text.size() < (1u << 20)) text += ".a";
  for (auto _ : state) benchmark::DoNotOptimize(CheckTomlDepth(text));
}
BENCHMARK(BM_TomlDepthScan_DottedKeyBomb);

void BM_JsonDepthScan_1MiB(benchmark::State& state) {
  std::string text = "[";
  while (text.size() < (1u << 20)) text += "{\"code\": \"gpu_xid\", \"entity\": \"[x]\"},";
  text += "{}]";
  for (auto _ : state) benchmark::DoNotOptimize(CheckJsonDepth(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_JsonDepthScan_1MiB)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace nodehealth
