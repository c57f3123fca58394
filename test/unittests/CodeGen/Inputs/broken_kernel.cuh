// Does not compile: the NVRTC driver must report the log.
template <int N> __global__ void broken(int *p) { p[0] = undeclared_name<N>; }
