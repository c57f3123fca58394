//===- qqq-import-fuzzer.cpp - fuzz target for the ONNX importer -----------===//
//
// `LLVMFuzzerTestOneInput` imports the bytes as an ONNX model (external data
// forbidden) and discards the result; any crash, hang or sanitizer report is
// a bug. Built with clang and -DQQQ_LIBFUZZER=ON it links libFuzzer.
// Otherwise it has its own driver (the default, so CI needs no clang):
//
//   qqq-import-fuzzer [-runs=N] [-max_total_time=S] [-seed=K] CORPUS...
//
// replays every corpus file (files or directories), then mutates random
// corpus entries (bit flips, byte edits, truncation, splices, varint
// stretches) until N runs or S seconds are spent.
//
//===----------------------------------------------------------------------===//
#include "qqq/Import/OnnxImport.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context per input keeps runs independent (resources, attributes).
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  qqq::loadOnnxImportDialects(&context);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  auto module = qqq::importOnnxModelFromBuffer(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.onnx",
      /*baseDir=*/"", &context);
  (void)module;
  return 0;
}

#ifndef QQQ_LIBFUZZER
namespace {

using Bytes = std::vector<uint8_t>;

// The input being imported, written to ./qqq-import-fuzzer-crash.onnx when
// the process dies on a signal, to reproduce with `qqq-import-fuzzer FILE`.
const Bytes *currentInput = nullptr;

extern "C" void dumpCurrentInput(int sig) {
  if (currentInput) {
    int fd = ::open("qqq-import-fuzzer-crash.onnx",
                    O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, currentInput->data(), currentInput->size());
      (void)ignored;
      ::close(fd);
    }
    const char msg[] = "qqq-import-fuzzer: crash; input saved to "
                       "qqq-import-fuzzer-crash.onnx\n";
    ssize_t ignored = ::write(2, msg, sizeof(msg) - 1);
    (void)ignored;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void loadCorpus(llvm::StringRef path, std::vector<Bytes> &corpus) {
  if (llvm::sys::fs::is_directory(path)) {
    std::error_code ec;
    for (llvm::sys::fs::recursive_directory_iterator it(path, ec), end;
         it != end && !ec; it.increment(ec))
      if (!llvm::sys::fs::is_directory(it->path()))
        loadCorpus(it->path(), corpus);
    return;
  }
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    llvm::errs() << "qqq-import-fuzzer: cannot read '" << path << "'\n";
    std::exit(1);
  }
  llvm::StringRef b = (*buffer)->getBuffer();
  corpus.emplace_back(b.begin(), b.end());
}

Bytes mutate(const std::vector<Bytes> &corpus, std::mt19937_64 &rng) {
  Bytes data = corpus[rng() % corpus.size()];
  int edits = 1 + rng() % 4;
  for (int e = 0; e < edits; ++e) {
    size_t n = data.size();
    switch (rng() % 7) {
    case 0: // flip one bit
      if (n) data[rng() % n] ^= uint8_t(1u << (rng() % 8));
      break;
    case 1: // overwrite a byte with an interesting value
      if (n) {
        static const uint8_t values[] = {0, 1, 0x7f, 0x80, 0xff, 0x08, 0x12};
        data[rng() % n] = values[rng() % sizeof(values)];
      }
      break;
    case 2: // truncate
      if (n) data.resize(rng() % n);
      break;
    case 3: // delete a range
      if (n > 1) {
        size_t at = rng() % n, len = 1 + rng() % std::min<size_t>(n - at, 16);
        data.erase(data.begin() + at, data.begin() + at + len);
      }
      break;
    case 4: // insert random bytes
      {
        size_t at = n ? rng() % n : 0, len = 1 + rng() % 8;
        Bytes ins(len);
        for (auto &b : ins) b = uint8_t(rng());
        data.insert(data.begin() + at, ins.begin(), ins.end());
      }
      break;
    case 5: // splice in a slice of another entry
      {
        const Bytes &other = corpus[rng() % corpus.size()];
        if (!other.empty() && n) {
          size_t from = rng() % other.size();
          size_t len = 1 + rng() % std::min<size_t>(other.size() - from, 64);
          size_t at = rng() % n;
          data.insert(data.begin() + at, other.begin() + from,
                      other.begin() + from + len);
        }
      }
      break;
    case 6: // stretch a varint (lengths, dims, enum values)
      if (n) {
        size_t at = rng() % n;
        data[at] |= 0x80;
        data.insert(data.begin() + at + 1, uint8_t(rng() & 0x7f));
      }
      break;
    }
  }
  return data;
}

} // namespace

int main(int argc, char **argv) {
  uint64_t runs = 10000, seed = 1;
  double maxSeconds = 0;
  std::vector<Bytes> corpus;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (arg.consume_front("-runs=")) {
      if (arg.getAsInteger(10, runs)) return 1;
    } else if (arg.consume_front("-seed=")) {
      if (arg.getAsInteger(10, seed)) return 1;
    } else if (arg.consume_front("-max_total_time=")) {
      if (arg.getAsDouble(maxSeconds)) return 1;
    } else if (arg.starts_with("-")) {
      llvm::errs() << "qqq-import-fuzzer: unknown option '" << arg << "'\n";
      return 1;
    } else {
      loadCorpus(arg, corpus);
    }
  }
  if (corpus.empty()) {
    llvm::errs() << "usage: qqq-import-fuzzer [-runs=N] [-max_total_time=S] "
                    "[-seed=K] CORPUS...\n";
    return 1;
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    std::signal(sig, dumpCurrentInput);
  for (const Bytes &input : corpus) {
    currentInput = &input;
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::mt19937_64 rng(seed);
  auto start = std::chrono::steady_clock::now();
  uint64_t done = 0;
  for (; done < runs; ++done) {
    if (maxSeconds > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                .count() > maxSeconds)
      break;
    Bytes input = mutate(corpus, rng);
    currentInput = &input;
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  llvm::outs() << "qqq-import-fuzzer: " << corpus.size() << " corpus inputs, "
               << done << " mutated inputs, no crash\n";
  return 0;
}
#endif
