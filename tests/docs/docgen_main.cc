// nodehealth-docgen OUT_DIR: writes the generated reference (findings.md, probe-reference.md,
// metrics.md, commands.md) into OUT_DIR. Built with the tests, never installed; run it through
// tools/gen_docs.sh, which writes docs/ or (--check) compares docs/ with a fresh generation.
// Exit status: 0 written, 1 a source could not be read (an agent did not answer, a --help run
// failed), 2 bad arguments or an unwritable OUT_DIR.
#include <fstream>
#include <iostream>
#include <string>

#include "tests/docs/doc_sources.h"

namespace {

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "nodehealth-docgen: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: nodehealth-docgen OUT_DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  namespace d = nodehealth::docs;
  std::string error;
  const d::Scrape scrape = d::ScrapeFixtureAgents();
  error += scrape.error;
  const std::string commands = d::CommandsMarkdown(NODEHEALTH_BINARY, &error);
  if (!error.empty()) {
    std::cerr << "nodehealth-docgen: " << error;
    return 1;
  }
  const bool ok = Write(dir + "/findings.md", d::FindingsMarkdown()) &&
                  Write(dir + "/probe-reference.md", d::ProbesMarkdown()) &&
                  Write(dir + "/metrics.md", d::MetricsMarkdown(scrape.families)) &&
                  Write(dir + "/commands.md", commands);
  return ok ? 0 : 2;
}
