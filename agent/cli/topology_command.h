// `nodehealth topology`: the node's GPU/HCA/NUMA matrix in the terms of `nvidia-smi topo -m`
// (table) or as the JSON fingerprint; `nodehealth topology save FILE` writes that fingerprint as
// the node's baseline (temporary file + rename). Exit 0, or 2 when the topology cannot be read or
// the file cannot be written.
#pragma once

#include <iosfwd>
#include <string>

#include "probes/topology/topology_model.h"

namespace nodehealth {

struct TopologyOptions {
  std::string sysroot = "/";
  std::string topology_xml;
  std::string format;     // "table", "json"; empty: table on a terminal
  std::string save_path;  // `save FILE`
};

int RunTopologyCommand(const TopologyOptions& options, std::ostream& out, std::ostream& err);

// The matrix for people: GPUs and HCAs in rows and columns with path classes, CPU and NUMA
// affinity, and the legends.
std::string RenderTopologyMatrix(const topo::Topology& topology);

}  // namespace nodehealth
