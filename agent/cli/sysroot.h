// --sysroot DIR: checked before any probe reads below it. A missing or mistyped root used to run
// the probes against an empty tree and report node faults (gpu_driver_not_loaded, ib_hca_missing,
// exit 1); a root that is not there is bad usage (exit 2, docs/contract.md), never a node fault.
//
// The rule: DIR exists, is a directory (or a link to one), and holds `sys/` or `proc/` (each a
// directory): every recorded node tree (tests/fixtures/nodes, node_exporter's and procfs's
// fixtures) has at least one of them, and nothing nodehealth reads lives elsewhere except
// `dev/` and `usr/`, which no real root has without `sys/` or `proc/`. "/" (the default) is
// never checked.
//
// Thread safety: stateless. Failure: an Error whose message starts with "--sysroot DIR".
#pragma once

#include <string>

#include "probes/util/expected.h"

namespace nodehealth {

Expected<bool> CheckSysroot(const std::string& sysroot);

}  // namespace nodehealth
