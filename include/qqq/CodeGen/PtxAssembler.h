//===- PtxAssembler.h - check generated PTX with ptxas ----------*- C++ -*-===//
#ifndef QQQ_CODEGEN_PTXASSEMBLER_H
#define QQQ_CODEGEN_PTXASSEMBLER_H

#include "llvm/Support/Error.h"

#include <string>

namespace qqq::codegen {

/// Assembles `ptx` with `ptxas -arch=<arch>` (ptxasPath()) into a temporary
/// cubin that is then removed. Fails with ptxas's diagnostics. `resources`,
/// when given, receives ptxas's -v report (registers, spills, shared memory).
llvm::Error assembleWithPtxas(const std::string &ptx, const std::string &arch,
                              std::string *resources = nullptr);

} // namespace qqq::codegen

#endif // QQQ_CODEGEN_PTXASSEMBLER_H
