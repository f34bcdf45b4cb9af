// The machine's single-thread f32 FMA peak, measured, so that benchmarks can
// report a kernel's speed as a fraction of it.
#ifndef LSTMKIT_BENCH_FMA_PEAK_H_
#define LSTMKIT_BENCH_FMA_PEAK_H_

namespace lstmkit::bench {

// GFLOP/s of a register-only FMA loop on the best target: the median of
// seven short runs, measured anew at each call because the clock of these
// shared machines drifts.
double MeasuredFmaPeakGflops();

}  // namespace lstmkit::bench

#endif  // LSTMKIT_BENCH_FMA_PEAK_H_
