// nodehealth-fixture SCENARIO DIR: writes the fixture node described by SCENARIO below DIR, for
// running `nodehealth check --sysroot DIR` by hand or in benchmarks. With the fake NVML:
//   NODEHEALTH_FAKE_NVML=SCENARIO nodehealth check --sysroot DIR --nvml-library libnvml_fake.so
#include <cstdio>

#include "tests/support/fixture_node.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: nodehealth-fixture SCENARIO.toml DIR\n");
    return 2;
  }
  auto written = nodehealth::testing::MaterializeNode(argv[1], argv[2]);
  if (!written) {
    std::fprintf(stderr, "nodehealth-fixture: %s\n", written.error().message.c_str());
    return 1;
  }
  return 0;
}
