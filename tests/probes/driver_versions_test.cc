#include "probes/gpu_driver/driver_versions.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(ParseProcDriverVersionTest, ProprietaryAndOpenModules) {
  Expected<KernelModuleVersion> v = ParseProcDriverVersion(
      "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.161.08  Thu Feb  8 19:03:17 UTC 2024\n"
      "GCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04)\n");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->version, "535.161.08");
  EXPECT_FALSE(v->open);
  Expected<KernelModuleVersion> open = ParseProcDriverVersion(
      "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.90.07  Release Build  "
      "(dvs-builder@U16-I3-B03-4-3)  Fri May 31 09:30:47 UTC 2024\n");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->version, "550.90.07");
  EXPECT_TRUE(open->open);
}

TEST(ParseProcDriverVersionTest, RejectsOtherText) {
  EXPECT_FALSE(ParseProcDriverVersion("").ok());
  EXPECT_FALSE(ParseProcDriverVersion("NVRM version: NVIDIA UNIX Kernel Module  garbage").ok());
  EXPECT_FALSE(ParseProcDriverVersion("hello\n").ok());
}

TEST(DriverVersionTest, FromNvmlVersionAndLibraryFile) {
  EXPECT_EQ(*DriverVersionFromNvmlVersion("12.535.161.08"), "535.161.08");
  EXPECT_FALSE(DriverVersionFromNvmlVersion("535").ok());
  EXPECT_EQ(DriverVersionFromLibraryFile("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.161.08"),
            "535.161.08");
  EXPECT_EQ(DriverVersionFromLibraryFile("/usr/lib/libnvidia-ml.so.1"), std::nullopt);
  EXPECT_EQ(DriverVersionFromLibraryFile("libnvml_fake.so"), std::nullopt);
  EXPECT_EQ(FormatCudaDriverVersion(12020), "12.2");
  EXPECT_EQ(FormatCudaDriverVersion(13000), "13.0");
}

TEST(FindFabricManagerPackageTest, ReadsDpkgStatus) {
  const char* status =
      "Package: nvidia-fabricmanager-dev-535\nStatus: install ok installed\nVersion: 535.1-1\n\n"
      "Package: nvidia-fabricmanager-535\nStatus: deinstall ok config-files\nVersion: "
      "535.54.03-1\n\n"
      "Package: nvidia-fabricmanager-550\nStatus: install ok installed\n"
      "Version: 1:550.54.15-0ubuntu1\n";
  std::optional<InstalledPackage> fm = FindFabricManagerPackage(status);
  ASSERT_TRUE(fm.has_value());
  EXPECT_EQ(fm->name, "nvidia-fabricmanager-550");
  EXPECT_EQ(fm->version, "1:550.54.15-0ubuntu1");
  EXPECT_EQ(fm->upstream_version, "550.54.15");
  EXPECT_FALSE(FindFabricManagerPackage("Package: zlib1g\nStatus: install ok installed\n"));
  EXPECT_FALSE(FindFabricManagerPackage(""));
}

}  // namespace
}  // namespace nodehealth
