#include "probes/gpu_bandwidth/worker_report.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "probes/util/nesting_depth.h"

namespace nodehealth::gpu_worker {
namespace {

using json = nlohmann::ordered_json;

json CopyJson(const Copy& c) {
  json j = {{"direction", c.direction}, {"gpu", c.gpu}};
  if (!c.peer.empty()) j["peer"] = c.peer;
  j["bytes"] = c.bytes;
  j["iterations"] = c.iterations;
  j["seconds"] = c.seconds;
  j["bytes_per_second"] = c.bytes_per_second;
  return j;
}

json NcclJson(const Nccl& n) {
  json results = json::array();
  for (const NcclSize& s : n.results) {
    json r = {{"size_bytes", s.size_bytes},
              {"iterations", s.iterations},
              {"seconds", s.seconds},
              {"algorithm_bytes_per_second", s.algorithm_bytes_per_second},
              {"bus_bytes_per_second", s.bus_bytes_per_second},
              {"wrong_elements", s.wrong_elements}};
    if (s.first_wrong) {
      const WrongElement& w = *s.first_wrong;
      r["first_wrong"] = {{"rank", w.rank},
                          {"gpu", w.gpu},
                          {"index", w.index},
                          {"value", w.value},
                          {"expected", w.expected}};
    }
    results.push_back(std::move(r));
  }
  return {{"version", n.version}, {"path", n.path}, {"ranks", n.ranks}, {"results", results}};
}

}  // namespace

std::string NormalizeBusId(std::string bus_id) {
  for (char& c : bus_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // CUDA and NVML may print an 8-digit domain (00000000:19:00.0); entities use 4 digits.
  if (bus_id.size() == 16 && bus_id.compare(0, 4, "0000") == 0 && bus_id[8] == ':') {
    bus_id.erase(0, 4);
  }
  return bus_id;
}

std::string ToJson(const Report& report) {
  json devices = json::array();
  for (const Device& d : report.devices) {
    devices.push_back({{"ordinal", d.ordinal},
                       {"gpu", d.gpu},
                       {"name", d.name},
                       {"numa_node", d.numa_node},
                       {"sm_clock_khz", d.sm_clock_khz},
                       {"memory_clock_khz", d.memory_clock_khz}});
  }
  json copies = json::array();
  for (const Copy& c : report.copies) copies.push_back(CopyJson(c));
  json errors = json::array();
  for (const StageError& e : report.errors) {
    errors.push_back(
        {{"stage", e.stage}, {"gpu", e.gpu}, {"code", e.code}, {"message", e.message}});
  }
  json j = {{"schema", kSchema},
            {"cuda_driver_version", report.cuda_driver_version},
            {"devices", devices},
            {"copies", copies}};
  if (report.nccl) j["nccl"] = NcclJson(*report.nccl);
  j["notes"] = report.notes;
  j["errors"] = errors;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Expected<Report> ParseReport(const std::string& text) {
  if (text.size() > kMaxOutputBytes) return MakeError("the GPU worker's output is too large");
  if (auto depth = CheckJsonDepth(text)) {
    return MakeError("the GPU worker's output nests too deeply");
  }
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  try {
    if (j.is_discarded() || !j.is_object() || j.value("schema", "") != kSchema) {
      return MakeError("no nodehealth-gpu-worker JSON in the GPU worker's output");
    }
    Report r;
    r.cuda_driver_version = j.at("cuda_driver_version").get<int>();
    for (const json& d : j.at("devices")) {
      r.devices.push_back({d.at("ordinal").get<int>(), d.at("gpu").get<std::string>(),
                           d.at("name").get<std::string>(), d.at("numa_node").get<int>(),
                           d.at("sm_clock_khz").get<int64_t>(),
                           d.at("memory_clock_khz").get<int64_t>()});
    }
    for (const json& c : j.at("copies")) {
      r.copies.push_back({c.at("direction").get<std::string>(), c.at("gpu").get<std::string>(),
                          c.value("peer", ""), c.at("bytes").get<uint64_t>(),
                          c.at("iterations").get<int>(), c.at("seconds").get<double>(),
                          c.at("bytes_per_second").get<double>()});
    }
    if (j.contains("nccl")) {
      const json& n = j.at("nccl");
      Nccl nccl;
      nccl.version = n.at("version").get<std::string>();
      nccl.path = n.at("path").get<std::string>();
      nccl.ranks = n.at("ranks").get<int>();
      for (const json& s : n.at("results")) {
        NcclSize size;
        size.size_bytes = s.at("size_bytes").get<uint64_t>();
        size.iterations = s.at("iterations").get<int>();
        size.seconds = s.at("seconds").get<double>();
        size.algorithm_bytes_per_second = s.at("algorithm_bytes_per_second").get<double>();
        size.bus_bytes_per_second = s.at("bus_bytes_per_second").get<double>();
        size.wrong_elements = s.at("wrong_elements").get<uint64_t>();
        if (s.contains("first_wrong")) {
          const json& w = s.at("first_wrong");
          size.first_wrong =
              WrongElement{w.at("rank").get<int>(), w.at("gpu").get<std::string>(),
                           w.at("index").get<uint64_t>(), w.at("value").get<double>(),
                           w.at("expected").get<double>()};
        }
        nccl.results.push_back(std::move(size));
      }
      r.nccl = std::move(nccl);
    }
    r.notes = j.at("notes").get<std::vector<std::string>>();
    for (const json& e : j.at("errors")) {
      r.errors.push_back({e.at("stage").get<std::string>(), e.at("gpu").get<std::string>(),
                          e.at("code").get<int>(), e.at("message").get<std::string>()});
    }
    return r;
  } catch (const std::exception& e) {
    return MakeError(std::string("malformed nodehealth-gpu-worker JSON: ") + e.what());
  }
}

}  // namespace nodehealth::gpu_worker
