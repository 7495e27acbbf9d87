// Package hugemem allocates large buffers that stream fast: private
// anonymous memory advised for transparent huge pages.
//
// Why it matters: a decode step, a matvec benchmark and the roofline's read
// loop all stream hundreds of MB once. On 4 KiB pages that stream takes a
// TLB miss every 4 KiB (on a VM, a nested page walk) and the hardware
// prefetchers stop at every page boundary. Measured 2026-11 on a 2-vCPU
// Zen 4 KVM guest (THP "madvise"): 28 GB/s read from huge pages against
// 19 GB/s from 4 KiB ones, in the same run (transformer's
// BenchmarkReadBandwidthTHP). Go's heap does not get huge pages there, so
// the roofline, the kernel benchmarks and the runtime's --no-mmap weights
// all allocate here, and measure alike. A mapped model file gets huge pages
// only where its page cache holds 2 MiB folios: on kernels with large folios
// for the file's filesystem (ext4 and xfs on 6.x), when the file was written
// in whole aligned 2 MiB writes (gguf's writer does) or read in after
// Advise; older kernels need CONFIG_READ_ONLY_THP_FOR_FS.
package hugemem
