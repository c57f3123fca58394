//===- OnnxImportTest.cpp - importing models built in C++ ------------------===//
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Import/OnnxImport.h"
#include "qqq/Import/OnnxTypes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include "onnx/onnx_pb.h"

using namespace mlir;

namespace {

class OnnxImportTest : public ::testing::Test {
protected:
  OnnxImportTest()
      : handler(&ctx, [this](Diagnostic &d) {
          errors += d.str() + "\n";
          return success();
        }) {}

  OwningOpRef<ModuleOp> import(const onnx::ModelProto &model) {
    std::string bytes;
    EXPECT_TRUE(model.SerializeToString(&bytes));
    return qqq::importOnnxModelFromBuffer(bytes, "test.onnx", "", &ctx);
  }

  /// y = x @ w (+ b): x [?, 8], w [8, 4] initializer.
  static onnx::ModelProto linearModel(bool external) {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    auto *g = m.mutable_graph();
    auto *w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(8);
    w->add_dims(4);
    if (external) {
      w->set_data_location(onnx::TensorProto::EXTERNAL);
      auto *e = w->add_external_data();
      e->set_key("location");
      e->set_value("w.bin");
    } else {
      for (int i = 0; i < 32; ++i)
        w->add_float_data(i);
    }
    auto *n = g->add_node();
    n->set_op_type("MatMul");
    n->set_name("fc");
    n->add_input("x");
    n->add_input("w");
    n->add_output("y");
    auto *in = g->add_input();
    in->set_name("x");
    auto *tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("n");
    tt->mutable_shape()->add_dim()->set_dim_value(8);
    g->add_output()->set_name("y");
    return m;
  }

  MLIRContext ctx;
  std::string errors;
  ScopedDiagnosticHandler handler;
};

TEST_F(OnnxImportTest, MatMulWithInitializerBecomesLinear) {
  auto module = import(linearModel(/*external=*/false));
  ASSERT_TRUE(module) << errors;
  auto main = module->lookupSymbol<func::FuncOp>("main");
  ASSERT_TRUE(main);
  qqq::LinearOp linear;
  main.walk([&](qqq::LinearOp op) { linear = op; });
  ASSERT_TRUE(linear);
  EXPECT_TRUE(linear.getWeightKn());
  EXPECT_EQ(linear.getLayerName(), "fc");
  EXPECT_EQ(linear.getInputName(), "x");
  EXPECT_EQ(linear.getInFeatures(), 8);
  EXPECT_EQ(linear.getOutFeatures(), 4);
  // The weight is a dense_resource holding the float_data values.
  auto cst = linear.getWeight().getDefiningOp();
  auto res = dyn_cast<DenseResourceElementsAttr>(cst->getAttr("value"));
  ASSERT_TRUE(res);
  ArrayRef<char> blob = res.getRawHandle().getBlob()->getData();
  ASSERT_EQ(blob.size(), 32u * 4);
  float last;
  std::memcpy(&last, blob.data() + 31 * 4, 4);
  EXPECT_EQ(last, 31.0f);
}

TEST_F(OnnxImportTest, ExternalDataIsRefusedForInMemoryModels) {
  EXPECT_FALSE(import(linearModel(/*external=*/true)));
  EXPECT_NE(errors.find("tensor 'w' uses external data, which is not allowed "
                        "for a model read from memory"),
            std::string::npos)
      << errors;
}

TEST_F(OnnxImportTest, GarbageIsNotAModel) {
  std::string junk = "\xff\xff\xff\xff garbage";
  EXPECT_FALSE(qqq::importOnnxModelFromBuffer(junk, "junk.onnx", "", &ctx));
  EXPECT_NE(errors.find("'junk.onnx' is not a valid ONNX model"),
            std::string::npos)
      << errors;
}

TEST(OnnxTypesTest, DataTypesMapBothWays) {
  MLIRContext ctx;
  for (int dt : {1, 2, 3, 5, 6, 7, 9, 10, 11, 16}) {
    Type t = qqq::onnxElementType(dt, &ctx);
    ASSERT_TRUE(t) << dt;
    EXPECT_EQ(qqq::onnxDataType(t), dt);
  }
  EXPECT_FALSE(qqq::onnxElementType(8, &ctx));  // STRING
  EXPECT_FALSE(qqq::onnxElementType(14, &ctx)); // COMPLEX64
  EXPECT_EQ(qqq::onnxElementBytes(IntegerType::get(&ctx, 1)), 1);
  EXPECT_EQ(qqq::onnxElementBytes(BFloat16Type::get(&ctx)), 2);
}

} // namespace
