// The one JSON line a bench runner prints.
#ifndef LSTMKIT_TOOLS_LSTMKIT_BENCH_REPORT_H_
#define LSTMKIT_TOOLS_LSTMKIT_BENCH_REPORT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "bench_case.h"

namespace lstmkit::cli {

// The contract's fields in a fixed order: impl, mode, median_ms, min_ms,
// max_ms, gflops, checksum (16 hex digits), p50_us and p99_us in step mode,
// then the case itself, then the runner's own `extra` fields.
nlohmann::ordered_json BenchReport(const std::string& impl,
                                   const BenchCase& bench_case,
                                   const BenchResult& result,
                                   const nlohmann::ordered_json& extra = {});

// The report on one line, without a newline.
std::string BenchJsonLine(const std::string& impl, const BenchCase& bench_case,
                          const BenchResult& result,
                          const nlohmann::ordered_json& extra = {});

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_BENCH_REPORT_H_
