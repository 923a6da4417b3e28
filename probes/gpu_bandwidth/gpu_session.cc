#include "probes/gpu_bandwidth/gpu_session.h"

#include <sched.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace nodehealth::gpu_worker {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!in) return text;
  char buffer[4096];
  in.read(buffer, sizeof buffer);
  text.assign(buffer, static_cast<std::size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// "0-23,48-71" -> a CPU set; false when malformed or empty.
bool ParseCpuList(const std::string& list, cpu_set_t& set) {
  CPU_ZERO(&set);
  std::stringstream ranges(list);
  std::string range;
  int count = 0;
  while (std::getline(ranges, range, ',')) {
    int first = 0, last = 0;
    char dash = 0;
    std::stringstream r(range);
    if (!(r >> first)) return false;
    last = first;
    if (r >> dash) {
      if (dash != '-' || !(r >> last)) return false;
    }
    if (first < 0 || last < first || last >= CPU_SETSIZE) return false;
    for (int cpu = first; cpu <= last; ++cpu, ++count) CPU_SET(cpu, &set);
  }
  return count > 0;
}

}  // namespace

bool Check(const platform::CudaDriver& driver, cuda::CuResult result, const char* call,
           const std::string& gpu, Report& report) {
  if (result == cuda::kSuccess) return true;
  report.errors.push_back({call, gpu, result, driver.Describe(call, result)});
  return false;
}

std::unique_ptr<GpuSession> GpuSession::Open(std::shared_ptr<const platform::CudaDriver> driver,
                                             const std::string& sysfs_root, Report& report) {
  const platform::CudaDriver& d = *driver;
  if (!Check(d, d.Init(0), "cuInit", "", report)) return nullptr;
  d.DriverGetVersion(&report.cuda_driver_version);
  int count = 0;
  if (!Check(d, d.DeviceGetCount(&count), "cuDeviceGetCount", "", report)) return nullptr;
  if (count <= 0) {
    report.errors.push_back({"cuDeviceGetCount", "", cuda::kErrorNoDevice, "no CUDA device"});
    return nullptr;
  }
  std::unique_ptr<GpuSession> session(new GpuSession(std::move(driver), sysfs_root));
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    SessionDevice device;
    device.info.ordinal = ordinal;
    const std::string label = "ordinal " + std::to_string(ordinal);
    if (!Check(d, d.DeviceGet(&device.device, ordinal), "cuDeviceGet", label, report)) continue;
    char bus_id[32] = {};
    if (!Check(d, d.DeviceGetPciBusId(bus_id, sizeof bus_id - 1, device.device),
               "cuDeviceGetPCIBusId", label, report)) {
      continue;
    }
    device.info.gpu = NormalizeBusId(std::string(bus_id, strnlen(bus_id, sizeof bus_id)));
    char name[256] = {};
    if (d.DeviceGetName(name, sizeof name - 1, device.device) == cuda::kSuccess) {
      device.info.name.assign(name, strnlen(name, sizeof name));
    }
    int khz = 0;
    if (d.DeviceGetAttribute(&khz, cuda::kAttributeClockRate, device.device) == cuda::kSuccess) {
      device.info.sm_clock_khz = khz;
    }
    if (d.DeviceGetAttribute(&khz, cuda::kAttributeMemoryClockRate, device.device) ==
        cuda::kSuccess) {
      device.info.memory_clock_khz = khz;
    }
    const std::string numa =
        ReadSmallFile(sysfs_root + "/sys/bus/pci/devices/" + device.info.gpu + "/numa_node");
    device.info.numa_node = numa.empty() ? -1 : std::atoi(numa.c_str());
    if (!Check(d, d.DevicePrimaryCtxRetain(&device.context, device.device),
               "cuDevicePrimaryCtxRetain", device.info.gpu, report)) {
      continue;
    }
    report.devices.push_back(device.info);
    session->devices_.push_back(std::move(device));
  }
  if (session->devices_.empty()) return nullptr;
  return session;
}

GpuSession::~GpuSession() {
  for (const SessionDevice& device : devices_) driver_->DevicePrimaryCtxRelease(device.device);
}

bool GpuSession::MakeCurrent(const SessionDevice& device, Report& report) const {
  return Check(*driver_, driver_->CtxSetCurrent(device.context), "cuCtxSetCurrent", device.info.gpu,
               report);
}

bool GpuSession::PinToLocalCpus(const SessionDevice& device) const {
  cpu_set_t set;
  const std::string list =
      ReadSmallFile(sysfs_root_ + "/sys/bus/pci/devices/" + device.info.gpu + "/local_cpulist");
  if (!ParseCpuList(list, set)) return false;
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace nodehealth::gpu_worker
