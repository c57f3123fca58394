//===- OnnxExportHookTest.cpp - the exporter's extension point -------------===//
//
// registerOpExporter hooks are how ops outside the exporter (the W4A8 ops)
// reach ONNX: a hook here exports `arith.addf` as an ONNX Add with an extra
// initializer and checks the written model and external data file.
//
//===----------------------------------------------------------------------===//
#include "qqq/Dialect/QQQ/IR/QQQDialect.h"
#include "qqq/Export/OnnxExport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <fstream>
#include <gtest/gtest.h>

#include "onnx/onnx_pb.h"

using namespace mlir;

namespace {

class OnnxExportHookTest : public ::testing::Test {
protected:
  void SetUp() override {
    ctx.loadDialect<qqq::QQQDialect, func::FuncDialect, arith::ArithDialect>();
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("qqq-export-test", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  onnx::ModelProto readModel(llvm::StringRef path) {
    onnx::ModelProto model;
    std::ifstream in(path.str(), std::ios::binary);
    EXPECT_TRUE(model.ParseFromIstream(&in));
    return model;
  }

  MLIRContext ctx;
  llvm::SmallString<128> dir;
};

const char *kModule = R"mlir(
module attributes {qqq.onnx_opset_import = [["", 17]]} {
  func.func @main(%x: tensor<512xf32> {qqq.onnx_name = "x"}) -> (tensor<512xf32> {qqq.onnx_name = "y"}) {
    %y = arith.addf %x, %x : tensor<512xf32>
    return %y : tensor<512xf32>
  }
}
)mlir";

TEST_F(OnnxExportHookTest, HookExportsAnUnknownOp) {
  qqq::registerOpExporter(
      "arith.addf", [](Operation *op, qqq::OpExportContext &ctx) -> LogicalResult {
        // y = x + bias, with a 2 KiB bias initializer (external at 1 KiB).
        auto type = cast<RankedTensorType>(op->getResult(0).getType());
        std::vector<float> bias(type.getNumElements(), 0.25f);
        auto attr = DenseElementsAttr::get(type, llvm::ArrayRef<float>(bias));
        std::string b = ctx.addInitializer("bias", attr);
        std::string out = ctx.makeUniqueName("y");
        ctx.setValueName(op->getResult(0), out);
        ctx.requireOpset("com.example", 3);
        Builder builder(op->getContext());
        return ctx.addNode(
            "Add", {ctx.getValueName(op->getOperand(0)), b}, {out}, "add",
            builder.getDictionaryAttr(
                {builder.getNamedAttr("note", builder.getStringAttr("hook"))}));
      });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModule, &ctx);
  ASSERT_TRUE(module);
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, "m.onnx");
  ASSERT_TRUE(succeeded(qqq::exportOnnxModel(*module, path)));

  onnx::ModelProto model = readModel(path);
  const auto &g = model.graph();
  ASSERT_EQ(g.node_size(), 1);
  EXPECT_EQ(g.node(0).op_type(), "Add");
  EXPECT_EQ(g.node(0).input(0), "x");
  EXPECT_EQ(g.node(0).input(1), "bias");
  EXPECT_EQ(g.node(0).output(0), "y");
  ASSERT_EQ(g.node(0).attribute_size(), 1);
  EXPECT_EQ(g.node(0).attribute(0).s(), "hook");
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "y");
  bool hasDomain = false;
  for (const auto &op : model.opset_import())
    hasDomain |= op.domain() == "com.example" && op.version() == 3;
  EXPECT_TRUE(hasDomain);

  // The bias went to m.onnx.data, with location/offset/length.
  ASSERT_EQ(g.initializer_size(), 1);
  const auto &t = g.initializer(0);
  EXPECT_EQ(t.data_location(), onnx::TensorProto::EXTERNAL);
  std::map<std::string, std::string> kv;
  for (const auto &e : t.external_data())
    kv[e.key()] = e.value();
  EXPECT_EQ(kv["location"], "m.onnx.data");
  EXPECT_EQ(kv["length"], "2048");
  auto data = llvm::MemoryBuffer::getFile(path + ".data");
  ASSERT_TRUE(bool(data));
  size_t offset = std::stoul(kv["offset"]);
  ASSERT_GE((*data)->getBufferSize(), offset + 2048);
  float first;
  std::memcpy(&first, (*data)->getBufferStart() + offset, 4);
  EXPECT_EQ(first, 0.25f);
}

TEST_F(OnnxExportHookTest, ThresholdZeroKeepsDataInline) {
  const char *src = R"mlir(
func.func @main(%x: tensor<1024xf32> {qqq.onnx_name = "x"}) -> (tensor<1024xf32> {qqq.onnx_name = "y"}) {
  %w = arith.constant {qqq.onnx_name = "w"} dense<1.5> : tensor<1024xf32>
  %y = qqq.onnx_node "Mul"(%x, %w) {node_name = "mul", qqq.onnx_outputs = ["y"]} : (tensor<1024xf32>, tensor<1024xf32>) -> tensor<1024xf32>
  return %y : tensor<1024xf32>
}
)mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(src, &ctx);
  ASSERT_TRUE(module);
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, "inline.onnx");
  qqq::OnnxExportOptions options;
  options.externalDataThreshold = 0;
  ASSERT_TRUE(succeeded(qqq::exportOnnxModel(*module, path, options)));
  EXPECT_FALSE(llvm::sys::fs::exists(path + ".data"));
  onnx::ModelProto model = readModel(path);
  ASSERT_EQ(model.graph().initializer_size(), 1);
  const auto &t = model.graph().initializer(0);
  EXPECT_EQ(t.name(), "w");
  ASSERT_EQ(t.raw_data().size(), 4096u); // the splat is written out in full
  float v;
  std::memcpy(&v, t.raw_data().data() + 4092, 4);
  EXPECT_EQ(v, 1.5f);
  // Defaults for a module that never came from ONNX.
  EXPECT_EQ(model.ir_version(), 8);
  EXPECT_EQ(model.producer_name(), "qqq");
}

} // namespace
