//===- NoDriverTest.cpp - the runtime without a CUDA driver ---------------===//
//
// QQQ_LIBCUDA points the loader at a library that does not exist, so this
// test sees the machine as one without a driver even where there is a GPU.
//
//===----------------------------------------------------------------------===//
#include "qqq/Runtime/qqq_runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

TEST(RuntimeWithoutDriver, CreateFailsCleanly) {
  ASSERT_EQ(setenv("QQQ_LIBCUDA", "/nonexistent/libcuda.so.1", 1), 0);
  qqqRuntime *rt = reinterpret_cast<qqqRuntime *>(0x1);
  EXPECT_EQ(qqqRuntimeCreate(0, &rt), QQQ_ERROR_NO_DEVICE);
  EXPECT_EQ(rt, nullptr);
  std::string message = qqqLastError();
  EXPECT_EQ(message.rfind("no CUDA driver", 0), 0u) << message;
  EXPECT_NE(message.find("/nonexistent/libcuda.so.1"), std::string::npos);
  // Still failing, with the same message, on a second try.
  EXPECT_EQ(qqqRuntimeCreate(0, &rt), QQQ_ERROR_NO_DEVICE);
  EXPECT_EQ(std::string(qqqLastError()), message);
}

TEST(RuntimeWithoutDriver, NullArgumentsAreInvalid) {
  EXPECT_EQ(qqqRuntimeCreate(0, nullptr), QQQ_ERROR_INVALID);
  EXPECT_EQ(qqqLoadBundle(nullptr, "x"), QQQ_ERROR_INVALID);
  EXPECT_EQ(qqqLaunchLinear(nullptr, 0, 1, 0, 0, 0, nullptr), QQQ_ERROR_INVALID);
  EXPECT_EQ(qqqSetProgrammaticLaunch(nullptr, 1), QQQ_ERROR_INVALID);
  EXPECT_NE(std::string(qqqLastError()).find("NULL"), std::string::npos);
  EXPECT_EQ(qqqLayerCount(nullptr), 0);
  EXPECT_EQ(qqqFindLayer(nullptr, "x"), -1);
  int64_t offset = -7, columns = -7;
  EXPECT_EQ(qqqFindLayerPart(nullptr, "x", &offset, &columns), -1);
  EXPECT_EQ(offset, -7); // untouched when nothing is found
  EXPECT_EQ(columns, -7);
}

TEST(RuntimeWithoutDriver, ActivationMapChecksItsArgumentsFirst) {
  ASSERT_EQ(setenv("QQQ_LIBCUDA", "/nonexistent/libcuda.so.1", 1), 0);
  uint64_t map[16] = {};
  // Bad arguments are refused before the driver is needed.
  EXPECT_EQ(qqqEncodeActivationMap(256, 0, 4096, 128, map), QQQ_ERROR_INVALID);
  EXPECT_NE(std::string(qqqLastError()).find("M = 0"), std::string::npos);
  EXPECT_EQ(qqqEncodeActivationMap(256, 1, 64, 128, map), QQQ_ERROR_INVALID);
  EXPECT_EQ(qqqEncodeActivationMap(256, 1, 4096, 512, map), QQQ_ERROR_INVALID);
  EXPECT_EQ(qqqEncodeActivationMap(256 + 8, 1, 4096, 128, map),
            QQQ_ERROR_INVALID);
  EXPECT_EQ(qqqEncodeActivationMap(256, 1, 4096, 128, nullptr),
            QQQ_ERROR_INVALID);
  // Good ones need the driver.
  EXPECT_EQ(qqqEncodeActivationMap(256, 1, 4096, 128, map),
            QQQ_ERROR_NO_DEVICE);
  EXPECT_NE(std::string(qqqLastError()).find("no CUDA driver"),
            std::string::npos);
}

} // namespace
