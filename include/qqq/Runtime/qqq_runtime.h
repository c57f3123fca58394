/*===- qqq_runtime.h - C API of the qqq GPU runtime -----------------------===*\
|*                                                                            *|
|* Loads a kernel bundle (qqq-translate --export-bundle) or raw PTX and       *|
|* launches its kernels on a caller-given CUDA stream. The CUDA driver is     *|
|* loaded at run time (dlopen of libcuda.so.1): programs link without it and  *|
|* qqqRuntimeCreate fails with QQQ_ERROR_NO_DEVICE and a message where there  *|
|* is no driver or GPU. Every call returns a qqqStatus; qqqLastError() gives   *|
|* the message of the calling thread's last failure.                          *|
|*                                                                            *|
|* Device pointers are CUdeviceptr values; streams are CUstream (NULL: the    *|
|* legacy default stream). Launches are asynchronous. The GEMMs of a stream  *|
|* share one split-K / stream-K workspace, allocated on first need: launches  *|
|* on one stream run in order; different streams get their own workspace.    *|
\*===----------------------------------------------------------------------===*/
#ifndef QQQ_RUNTIME_QQQ_RUNTIME_H
#define QQQ_RUNTIME_QQQ_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qqqStatus {
  QQQ_SUCCESS = 0,
  QQQ_ERROR_NO_DEVICE = 1,   /* no CUDA driver, or no GPU visible */
  QQQ_ERROR_INVALID = 2,     /* bad argument, unknown layer, M out of range */
  QQQ_ERROR_BUNDLE = 3,      /* unreadable or inconsistent bundle */
  QQQ_ERROR_CUDA = 4,        /* a CUDA driver call failed (message says which) */
} qqqStatus;

typedef struct qqqRuntime qqqRuntime;
typedef struct qqqKernel qqqKernel;
typedef uint64_t qqqDevicePtr;

/* The message of the calling thread's last failure ("" if none). */
const char *qqqLastError(void);

/* Opens `device` (its primary context). */
qqqStatus qqqRuntimeCreate(int device, qqqRuntime **out);
void qqqRuntimeDestroy(qqqRuntime *rt);
/* The GPU's name (cuDeviceGetName), the key of the tuning tables. */
const char *qqqDeviceName(const qqqRuntime *rt);

/* Programmatic dependent launch of the layer kernels (on by default; used
 * on sm_90+ for the kernels the bundle marks programmatic_launch): a
 * layer's GEMM may start while the kernel before it in the stream runs and
 * stream its weights; every such kernel waits for its predecessor before it
 * touches activations or outputs. `on` = 0: plain stream order. */
qqqStatus qqqSetProgrammaticLaunch(qqqRuntime *rt, int on);

/* Loads a bundle directory: JIT-loads its PTX, uploads the layers' tensors. */
qqqStatus qqqLoadBundle(qqqRuntime *rt, const char *directory);
int qqqLayerCount(const qqqRuntime *rt);
const char *qqqLayerName(const qqqRuntime *rt, int layer);
/* Index of the layer called `name`, or -1. */
int qqqFindLayer(const qqqRuntime *rt, const char *name);
/* Index of the layer computing the outputs of layer `name`, or -1: the
 * layer itself (column_offset 0, columns its N), or the GEMM it was fused
 * into (qqq-fuse-projections: e.g. q_proj in q_proj+k_proj+v_proj), whose
 * output rows hold `name`'s columns at [column_offset, column_offset +
 * columns). Either output pointer may be NULL. */
int qqqFindLayerPart(const qqqRuntime *rt, const char *name,
                     int64_t *column_offset, int64_t *columns);

/* Y[M, N] (f16) = W4A8 linear of x (int8 [M, K]) with per-token scales
 * s_tok (f32 [M]); weights, scales and bias come from the bundle. The
 * kernel of the M bucket serving M is launched. x and y must be 16-byte
 * aligned (cuMemAlloc gives 256; rows of K, N are multiples of 64). */
qqqStatus qqqLaunchLinear(qqqRuntime *rt, int layer, int64_t M, qqqDevicePtr x,
                          qqqDevicePtr s_tok, qqqDevicePtr y, void *stream);
/* quantize_act / rms_norm_quantize layers: x (f16 [M, K]) -> q (int8
 * [M, K]), s_tok (f32 [M]). */
qqqStatus qqqLaunchQuantize(qqqRuntime *rt, int layer, int64_t M,
                            qqqDevicePtr x, qqqDevicePtr q, qqqDevicePtr s_tok,
                            void *stream);

/* Lower level: JIT-load one PTX module and look up `entry`, allowing
 * `shared_bytes` of dynamic shared memory. The kernel lives as long as rt. */
qqqStatus qqqLoadPtx(qqqRuntime *rt, const char *ptx, const char *entry,
                     uint32_t shared_bytes, qqqKernel **out);
/* Launches in plain stream order (cuLaunchKernelEx, no attributes) with
 * `args` as the kernel parameters (pointers to them). */
qqqStatus qqqLaunchKernel(qqqRuntime *rt, qqqKernel *kernel,
                          const uint32_t grid[3], const uint32_t block[3],
                          uint32_t shared_bytes, void **args, void *stream);

/* The sm_90a GEMM's activation tensor map (its last argument, 128 bytes by
 * value; include/qqq/Runtime/ActivationMap.h) for x = M x K int8 at `x`,
 * box rows `rows`, into map[16] (64-byte aligned). */
qqqStatus qqqEncodeActivationMap(qqqDevicePtr x, int64_t M, int64_t K,
                                 int64_t rows, uint64_t map[16]);
/* The same for IR lowered by qqq-lower-to-gpu (the MLIR C interface of
 * `func.func private @qqq_encode_activation_map(memref<?x?xi8>, i64,
 * memref<16xi64>) attributes {llvm.emit_c_interface}`): x's sizes give M
 * and K. A failure is reported on stderr and leaves the map zero. */
struct qqqMemRef2DI8 {
  int8_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
struct qqqMemRef1DI64 {
  uint64_t *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
};
void _mlir_ciface_qqq_encode_activation_map(struct qqqMemRef2DI8 *x,
                                            int64_t rows,
                                            struct qqqMemRef1DI64 *map);

#ifdef __cplusplus
}
#endif

#endif /* QQQ_RUNTIME_QQQ_RUNTIME_H */
