// The part of NVIDIA's NVML C ABI that nodehealth uses, declared here because nvml.h is not in
// Debian main. Names, values and layouts are NVIDIA's (nvml.h as vendored in NVIDIA/DCGM
// sdk/nvidia/nvml/nvml.h at 6e947dca, cross-checked against NVIDIA/go-nvml gen/nvml/nvml.h for
// NVML 12.2.140); the static_asserts pin the layouts we pass to the library.
//
// Only types and constants live here; nvml_library.h resolves the functions at run time.
#pragma once

#include <cstddef>
#include <cstdint>

// The opaque device handle, named as in nvml.h so the fake NVML library can define it.
struct nvmlDevice_st;
struct nvmlEventSet_st;

namespace nodehealth::platform::nvml {

using Return = int;  // nvmlReturn_t
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorUninitialized = 1;
inline constexpr Return kErrorInvalidArgument = 2;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorInsufficientSize = 7;
inline constexpr Return kErrorInsufficientPower = 8;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorTimeout = 10;
inline constexpr Return kErrorIrqIssue = 11;
inline constexpr Return kErrorLibraryNotFound = 12;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorCorruptedInforom = 14;
inline constexpr Return kErrorGpuIsLost = 15;
inline constexpr Return kErrorResetRequired = 16;
inline constexpr Return kErrorOperatingSystem = 17;
inline constexpr Return kErrorLibRmVersionMismatch = 18;
inline constexpr Return kErrorInUse = 19;
inline constexpr Return kErrorMemory = 20;
inline constexpr Return kErrorNoData = 21;
inline constexpr Return kErrorGpuNotFound = 28;
inline constexpr Return kErrorUnknown = 999;

// The NVML_ERROR_* name of a return code ("NVML_ERROR_GPU_IS_LOST"), for evidence; our own table
// so it works when nvmlErrorString is missing or NVML is wedged.
const char* ReturnName(Return value);

using Device = nvmlDevice_st*;  // nvmlDevice_t
using EnableState = int;        // nvmlEnableState_t
inline constexpr EnableState kFeatureDisabled = 0;
inline constexpr EnableState kFeatureEnabled = 1;

inline constexpr unsigned kNameBufferSize = 96;         // NVML_DEVICE_NAME_V2_BUFFER_SIZE
inline constexpr unsigned kUuidBufferSize = 96;         // NVML_DEVICE_UUID_V2_BUFFER_SIZE
inline constexpr unsigned kSerialBufferSize = 30;       // NVML_DEVICE_SERIAL_BUFFER_SIZE
inline constexpr unsigned kVersionBufferSize = 80;      // NVML_SYSTEM_*_VERSION_BUFFER_SIZE
inline constexpr unsigned kVbiosBufferSize = 32;        // NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE
inline constexpr unsigned kGspFirmwareBufferSize = 64;  // NVML_GSP_FIRMWARE_VERSION_BUF_SIZE
inline constexpr unsigned kNvlinkMaxLinks = 18;         // NVML_NVLINK_MAX_LINKS

// nvmlPciInfo_t. One layout for _v1/_v2/_v3; the older entry points may leave busId empty, so
// callers format the id from domain/bus/device (NVML_DEVICE_PCI_BUS_ID_FMT, function always 0).
struct PciInfo {
  char bus_id_legacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pci_device_id;  // device id << 16 | vendor id
  unsigned int pci_subsystem_id;
  char bus_id[32];
};
static_assert(sizeof(PciInfo) == 68 && offsetof(PciInfo, bus_id) == 36);

using MemoryErrorType = int;  // nvmlMemoryErrorType_t
inline constexpr MemoryErrorType kMemoryErrorCorrected = 0;
inline constexpr MemoryErrorType kMemoryErrorUncorrected = 1;
using EccCounterType = int;  // nvmlEccCounterType_t
inline constexpr EccCounterType kVolatileEcc = 0;
inline constexpr EccCounterType kAggregateEcc = 1;
using PageRetirementCause = int;  // nvmlPageRetirementCause_t
inline constexpr PageRetirementCause kRetiredMultipleSbe = 0;
inline constexpr PageRetirementCause kRetiredDbe = 1;

using Pstate = int;  // nvmlPstates_t: 0 (P0, max performance) .. 15, 32 unknown
inline constexpr Pstate kPstateUnknown = 32;

using TemperatureSensor = int;  // nvmlTemperatureSensors_t
inline constexpr TemperatureSensor kTemperatureGpu = 0;
using TemperatureThreshold = int;  // nvmlTemperatureThresholds_t
inline constexpr TemperatureThreshold kThresholdShutdown = 0;
inline constexpr TemperatureThreshold kThresholdSlowdown = 1;

// Clock event ("throttle") reasons, nvmlClocksEventReason* / nvmlClocksThrottleReason*.
inline constexpr uint64_t kClocksGpuIdle = 0x1;
inline constexpr uint64_t kClocksApplicationsClocksSetting = 0x2;
inline constexpr uint64_t kClocksSwPowerCap = 0x4;
inline constexpr uint64_t kClocksHwSlowdown = 0x8;
inline constexpr uint64_t kClocksSyncBoost = 0x10;
inline constexpr uint64_t kClocksSwThermalSlowdown = 0x20;
inline constexpr uint64_t kClocksHwThermalSlowdown = 0x40;
inline constexpr uint64_t kClocksHwPowerBrakeSlowdown = 0x80;
inline constexpr uint64_t kClocksDisplayClockSetting = 0x100;

// nvmlGpuFabricInfo_t (Hopper+, NVSwitch systems) and its versioned successor.
inline constexpr unsigned char kFabricStateNotSupported = 0;
inline constexpr unsigned char kFabricStateNotStarted = 1;
inline constexpr unsigned char kFabricStateInProgress = 2;
inline constexpr unsigned char kFabricStateCompleted = 3;
struct GpuFabricInfo {
  unsigned char cluster_uuid[16];
  Return status;
  unsigned int clique_id;
  unsigned char state;
};
static_assert(sizeof(GpuFabricInfo) == 28 && offsetof(GpuFabricInfo, state) == 24);
struct GpuFabricInfoV2 {
  unsigned int version;  // kGpuFabricInfoV2Version
  unsigned char cluster_uuid[16];
  Return status;
  unsigned int clique_id;
  unsigned char state;
  unsigned int health_mask;
};
static_assert(sizeof(GpuFabricInfoV2) == 36 && offsetof(GpuFabricInfoV2, health_mask) == 32);
// NVML_STRUCT_VERSION(GpuFabricInfo, 2) = sizeof | 2 << 24.
inline constexpr unsigned int kGpuFabricInfoV2Version = sizeof(GpuFabricInfoV2) | (2u << 24);

// nvmlNvLinkErrorCounter_t (nvml.h as synced in NVIDIA/go-nvml, 2f9e261f): the counters of
// nvmlDeviceGetNvLinkErrorCounter. Power limits (nvmlDeviceGet*PowerLimit*) are in milliwatts.
using NvLinkErrorCounter = int;
inline constexpr NvLinkErrorCounter kNvlinkErrorDlReplay = 0;    // NVML_NVLINK_ERROR_DL_REPLAY
inline constexpr NvLinkErrorCounter kNvlinkErrorDlRecovery = 1;  // NVML_NVLINK_ERROR_DL_RECOVERY
inline constexpr NvLinkErrorCounter kNvlinkErrorDlCrcFlit = 2;   // NVML_NVLINK_ERROR_DL_CRC_FLIT
inline constexpr NvLinkErrorCounter kNvlinkErrorDlCrcData = 3;   // NVML_NVLINK_ERROR_DL_CRC_DATA

// nvmlFieldValue_t and the field ids we ask for.
union Value {
  double d;
  int si;
  unsigned int ui;
  unsigned long ul;
  unsigned long long ull;
  signed long long sll;
  unsigned short us;
};
struct FieldValue {
  unsigned int field_id;
  unsigned int scope_id;
  long long timestamp;
  long long latency_usec;
  int value_type;  // nvmlValueType_t
  Return nvml_return;
  Value value;
};
static_assert(sizeof(FieldValue) == 40 && offsetof(FieldValue, value) == 32);
// Events (nvmlEventSet_t, nvmlEventData_t with the gpuInstanceId/computeInstanceId of
// nvmlEventSetWait_v2; the older nvmlEventSetWait writes only the first three fields).
using EventSet = nvmlEventSet_st*;
struct EventData {
  Device device;
  unsigned long long event_type;
  unsigned long long event_data;  // the XID for kEventTypeXidCriticalError (999: unknown XID)
  unsigned int gpu_instance_id;
  unsigned int compute_instance_id;
};
inline constexpr unsigned long long kEventTypeXidCriticalError =
    0x8;  // nvmlEventTypeXidCriticalError
inline constexpr int kValueTypeDouble = 0;
inline constexpr int kValueTypeUnsignedInt = 1;
inline constexpr int kValueTypeUnsignedLong = 2;
inline constexpr int kValueTypeUnsignedLongLong = 3;
inline constexpr int kValueTypeSignedLongLong = 4;
inline constexpr int kValueTypeSignedInt = 5;
inline constexpr int kValueTypeUnsignedShort = 6;

inline constexpr unsigned int kFieldNvlinkLinkCount = 91;  // NVML_FI_DEV_NVLINK_LINK_COUNT
// Error counters (nvml.h as synced in NVIDIA/go-nvml, 2f9e261f, CUDA 13.3 header).
inline constexpr unsigned int kFieldPcieReplayCounter = 94;  // NVML_FI_DEV_PCIE_REPLAY_COUNTER
// Per link, the link in scopeId; "unsupported for Blackwell+" says the header.
inline constexpr unsigned int kFieldNvlinkErrorDlReplay =
    161;  // NVML_FI_DEV_NVLINK_ERROR_DL_REPLAY
inline constexpr unsigned int kFieldNvlinkErrorDlRecovery = 162;  // .._DL_RECOVERY
inline constexpr unsigned int kFieldNvlinkErrorDlCrc = 163;       // .._DL_CRC
inline constexpr unsigned int kFieldGpuRecoveryAction = 230;  // NVML_FI_DEV_GET_GPU_RECOVERY_ACTION
// nvmlDeviceGpuRecoveryAction_t; values above 4 exist in newer drivers and are reported as unknown.
inline constexpr unsigned int kRecoveryNone = 0;
inline constexpr unsigned int kRecoveryGpuReset = 1;
inline constexpr unsigned int kRecoveryNodeReboot = 2;
inline constexpr unsigned int kRecoveryDrainP2p = 3;
inline constexpr unsigned int kRecoveryDrainAndReset = 4;

}  // namespace nodehealth::platform::nvml
