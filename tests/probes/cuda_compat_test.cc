#include "probes/gpu_driver/cuda_compat.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(CudaVersionJsonTest, ReadsTheSdkVersionNotAComponent) {
  // Key order as NVIDIA writes it: components before "cuda" would mislead a naive search.
  Expected<CudaVersion> v = ParseCudaVersionJson(
      R"json({"cuda_cudart" : {"name" : "CUDA Runtime (cudart)", "version" : "12.4.127"},
          "cuda" : {"name" : "CUDA SDK", "version" : "12.4.1"}})json");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->major, 12);
  EXPECT_EQ(v->minor, 4);
  EXPECT_EQ(v->update, 1);
  EXPECT_EQ(v->ToString(), "12.4 Update 1");
}

TEST(CudaVersionJsonTest, DateStampedThirdComponentIsAnUnknownUpdate) {
  Expected<CudaVersion> v = ParseCudaVersionJson(R"({"cuda": {"version": "12.6.20241114"}})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->update, -1);
  EXPECT_EQ(*ToolkitDriverVersion(*v), "560.28.03");  // the GA row
}

TEST(CudaVersionJsonTest, RejectsBrokenFiles) {
  for (const char* bad : {"", "{}", R"({"cuda": "12.2"})", R"({"cuda": {"version": "x.y"}})",
                          R"({"cuda": {"version": "12"}})", R"({"cuda": {"version": )"}) {
    EXPECT_FALSE(ParseCudaVersionJson(bad).ok()) << bad;
  }
}

TEST(CudaVersionTxtTest, OldToolkits) {
  Expected<CudaVersion> v = ParseCudaVersionTxt("CUDA Version 10.2.89\n");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->major, 10);
  EXPECT_EQ(v->minor, 2);
  EXPECT_EQ(v->update, 0);
  EXPECT_FALSE(ParseCudaVersionTxt("Version 10.2").ok());
}

TEST(CudaRuntimeFileTest, LibraryNames) {
  std::optional<CudaVersion> v = CudaVersionFromRuntimeFile("libcudart.so.12.2.140");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->ToString(), "12.2");
  EXPECT_FALSE(CudaVersionFromRuntimeFile("libcudart.so.12").has_value());
  EXPECT_FALSE(CudaVersionFromRuntimeFile("libcuda.so.535.161.08").has_value());
}

TEST(ToolkitDriverVersionTest, FollowsNvidiasTable) {
  EXPECT_EQ(*ToolkitDriverVersion({12, 2, 0}), "535.54.03");
  EXPECT_EQ(*ToolkitDriverVersion({12, 2, 2}), "535.104.05");
  EXPECT_EQ(*ToolkitDriverVersion({12, 1, 1}), "530.30.02");  // the update kept the GA driver
  EXPECT_EQ(*ToolkitDriverVersion({12, 6, 2}), "560.35.03");
  EXPECT_EQ(*ToolkitDriverVersion({11, 8, 0}), "520.61.05");
  EXPECT_EQ(*ToolkitDriverVersion({13, 0, 2}), "580.95.05");
  EXPECT_FALSE(ToolkitDriverVersion({12, 7, 0}).has_value());  // there is no 12.7
  EXPECT_FALSE(ToolkitDriverVersion({14, 0, 0}).has_value());
  EXPECT_EQ(*MinorCompatibilityFloor(12), "525.60.13");
  EXPECT_EQ(*MinorCompatibilityFloor(11), "450.80.02");
  EXPECT_FALSE(MinorCompatibilityFloor(10).has_value());
}

}  // namespace
}  // namespace nodehealth
