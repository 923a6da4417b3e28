#include "agent/config/profile_gpu_tables.h"

#include "probes/util/byte_size.h"

namespace nodehealth {
namespace {

// GB/s floors: above zero, below anything a GPU link reaches (NVLink 5: 1.8 TB/s per GPU).
double Floor(const StrictTomlReader& r, const toml::node& n, const std::string& k) {
  return r.Number(n, k, 0.001, 100000);
}

// "16G", "256M" or a plain number of bytes.
uint64_t Size(const StrictTomlReader& r, const toml::node& n, const std::string& k, uint64_t min) {
  Expected<uint64_t> size =
      n.is_string() ? ParseByteSize(r.String(n, k))
                    : Expected<uint64_t>(static_cast<uint64_t>(r.Integer(n, k, 1, 1ll << 40)));
  if (!size || *size < min) {
    r.Fail(n, "\"" + k + "\" must be a size of at least " + FormatByteSize(min) +
                  " such as \"256M\" or \"16G\"");
  }
  return size ? *size : min;
}

}  // namespace

void ReadGpuBandwidth(const StrictTomlReader& r, const toml::table& table,
                      GpuBandwidthExpectations& g) {
  r.Walk(
      table, "gpu_bandwidth",
      {
          {"host_device_gigabytes_per_second_min",
           [&](auto& n, auto& k) { g.host_device_gigabytes_per_second_min = Floor(r, n, k); }},
          {"device_gigabytes_per_second_min",
           [&](auto& n, auto& k) { g.device_gigabytes_per_second_min = Floor(r, n, k); }},
          {"peer_gigabytes_per_second_min",
           [&](auto& n, auto& k) { g.peer_gigabytes_per_second_min = Floor(r, n, k); }},
          {"copy_bytes", [&](auto& n, auto& k) { g.copy_bytes = Size(r, n, k, 4096); }},
          {"iterations",
           [&](auto& n, auto& k) { g.iterations = static_cast<int>(r.Integer(n, k, 1, 10000)); }},
          {"warn_margin_percent",
           [&](auto& n, auto& k) { g.warn_margin_percent = r.Number(n, k, 0, 100); }},
          {"outlier_fraction",
           [&](auto& n, auto& k) { g.outlier_fraction = r.Number(n, k, 0, 1); }},
          {"required", [&](auto& n, auto& k) { g.required = r.Bool(n, k); }},
      });
}

void ReadNcclAllreduce(const StrictTomlReader& r, const toml::table& table,
                       NcclAllreduceExpectations& c) {
  r.Walk(
      table, "nccl_allreduce",
      {
          {"bus_gigabytes_per_second_min",
           [&](auto& n, auto& k) { c.bus_gigabytes_per_second_min = Floor(r, n, k); }},
          {"net_bus_gigabytes_per_second_min",
           [&](auto& n, auto& k) { c.net_bus_gigabytes_per_second_min = Floor(r, n, k); }},
          {"size_bytes", [&](auto& n, auto& k) { c.size_bytes = Size(r, n, k, 1u << 20); }},
          {"iterations",
           [&](auto& n, auto& k) { c.iterations = static_cast<int>(r.Integer(n, k, 1, 10000)); }},
          {"warmup",
           [&](auto& n, auto& k) { c.warmup = static_cast<int>(r.Integer(n, k, 0, 10000)); }},
          {"warn_margin_percent",
           [&](auto& n, auto& k) { c.warn_margin_percent = r.Number(n, k, 0, 100); }},
          {"required", [&](auto& n, auto& k) { c.required = r.Bool(n, k); }},
      });
}

}  // namespace nodehealth
