// A stand-in for libFuzzer's main() in the GCC build: runs LLVMFuzzerTestOneInput on every file
// of the corpus directories, then on random mutations of them until -max_total_time seconds have
// passed. No coverage feedback (the clang build has that); its job in the default test suite is to
// push malformed input through the parsers under -Werror builds on every CI run.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> LoadCorpus(const std::vector<std::string>& dirs) {
  std::vector<std::string> corpus;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty()) corpus.emplace_back();
  return corpus;
}

std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  std::string s = corpus[rng() % corpus.size()];
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits; ++i) {
    const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 7) {
      case 0:  // flip a byte
        if (!s.empty()) s[at % s.size()] = static_cast<char>(rng());
        break;
      case 1:  // insert random bytes
        s.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng())));
        break;
      case 2:  // delete a run
        if (!s.empty()) s.erase(at % s.size(), 1 + rng() % 16);
        break;
      case 3:  // truncate
        s.resize(at);
        break;
      case 4: {  // splice another input
        const std::string& other = corpus[rng() % corpus.size()];
        if (!other.empty()) s.insert(at, other.substr(rng() % other.size(), 1 + rng() % 64));
        break;
      }
      case 5:  // interesting characters of these formats (one char: inserting a one-char string
               // here made GCC 12 at -O3 warn falsely, -Wrestrict, GCC bug 105329)
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), ":;,.[]()=\"\n\t x0-"[rng() % 17]);
        break;
      default:  // duplicate a slice
        if (!s.empty()) s.insert(at, s.substr(at % s.size(), 1 + rng() % 32));
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-max_total_time=", 0) == 0) {
      seconds = std::stod(arg.substr(16));
    } else if (arg[0] != '-') {
      dirs.push_back(arg);
    }
  }
  const std::vector<std::string> corpus = LoadCorpus(dirs);
  for (const std::string& input : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::mt19937_64 rng(0x6e6f6465);  // fixed seed: a failure reproduces
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int batch = 0; batch < 256; ++batch, ++runs) {
      const std::string input = Mutate(corpus, rng);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    }
  }
  std::printf("%zu corpus inputs, %llu mutated inputs, no crash\n", corpus.size(),
              static_cast<unsigned long long>(runs));
  return 0;
}
