// Runs one case of the bench contract on lstmkit itself.
#ifndef LSTMKIT_TOOLS_LSTMKIT_LSTMKIT_BENCH_H_
#define LSTMKIT_TOOLS_LSTMKIT_LSTMKIT_BENCH_H_

#include "bench_case.h"

namespace lstmkit::cli {

// Builds a headless model (seeded by the case), sets its thread count and
// times the case. Train mode minimizes the mean squared error against zero
// targets with plain SGD. Throws UsageError for --dtype other than f32 and
// lstmkit::Error for whatever the library rejects.
BenchResult RunLstmkitBench(const BenchCase& bench_case);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_LSTMKIT_BENCH_H_
