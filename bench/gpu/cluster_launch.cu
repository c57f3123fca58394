// cluster_launch.cu - what a kernel's compile-time cluster shape costs per
// launch (docs/kernels.md, "Launch cost of a cluster"): the same kernel
// (each CTA spins `spin` cycles) without __cluster_dims__, with (1, 1, 1)
// and with (1, 1, 2), 50 launches per CUDA graph, plain stream order and
// programmatic (PDL) launch; prints the median over 11 replays of the time
// per launch. Run on the GPU machine: bash bench/gpu/run_cluster_launch.sh
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e)); return 1; } } while (0)
__global__ void __launch_bounds__(256) plain(int *p, int spin) {
  long long t0 = clock64(); while (clock64() - t0 < spin) {}
  if (threadIdx.x == 0 && spin < 0) p[blockIdx.x] = 1;
}
__global__ void __launch_bounds__(256) __cluster_dims__(1, 1, 1) clus1(int *p, int spin) {
  long long t0 = clock64(); while (clock64() - t0 < spin) {}
  if (threadIdx.x == 0 && spin < 0) p[blockIdx.x] = 1;
}
__global__ void __launch_bounds__(256) __cluster_dims__(1, 1, 2) clus2(int *p, int spin) {
  long long t0 = clock64(); while (clock64() - t0 < spin) {}
  if (threadIdx.x == 0 && spin < 0) p[blockIdx.x] = 1;
}
template <class F> float timeGraph(F launch, cudaStream_t s) {
  cudaGraph_t g; cudaGraphExec_t ge;
  cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
  for (int i = 0; i < 50; ++i) launch();
  cudaStreamEndCapture(s, &g);
  cudaGraphInstantiate(&ge, g, 0);
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  std::vector<float> ts;
  for (int r = 0; r < 11; ++r) {
    cudaEventRecord(a, s); cudaGraphLaunch(ge, s); cudaEventRecord(b, s);
    cudaEventSynchronize(b); float ms; cudaEventElapsedTime(&ms, a, b); ts.push_back(ms * 1000 / 50);
  }
  std::sort(ts.begin(), ts.end());
  cudaGraphExecDestroy(ge); cudaGraphDestroy(g);
  return ts[5];
}
int main() {
  int *p; CK(cudaMalloc(&p, 1 << 20));
  cudaStream_t s; CK(cudaStreamCreate(&s));
  for (int spin : {0, 2000, 10000}) for (int grid : {96, 132, 264}) {
    auto mk = [&](auto k, bool pdl) {
      return [=]() {
        cudaLaunchConfig_t cfg{}; cfg.gridDim = dim3(1, 1, grid); cfg.blockDim = dim3(256); cfg.stream = s;
        cudaLaunchAttribute at{}; at.id = cudaLaunchAttributeProgrammaticStreamSerialization; at.val.programmaticStreamSerializationAllowed = 1;
        cfg.attrs = &at; cfg.numAttrs = pdl ? 1 : 0;
        cudaLaunchKernelEx(&cfg, k, p, spin);
      };
    };
    float a = timeGraph(mk(plain, false), s), b = timeGraph(mk(clus1, false), s), c = timeGraph(mk(clus2, false), s);
    float ap = timeGraph(mk(plain, true), s), bp = timeGraph(mk(clus1, true), s), cp = timeGraph(mk(clus2, true), s);
    printf("spin %5d grid %3d: plain %.2f  cluster1 %.2f  cluster2 %.2f us | PDL: %.2f %.2f %.2f\n", spin, grid, a, b, c, ap, bp, cp);
  }
  CK(cudaGetLastError());
  return 0;
}
