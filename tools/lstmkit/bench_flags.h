// The flags of the `lstmkit bench` contract, declared once for every C++
// runner that speaks it, so that their names, defaults and help agree.
#ifndef LSTMKIT_TOOLS_LSTMKIT_BENCH_FLAGS_H_
#define LSTMKIT_TOOLS_LSTMKIT_BENCH_FLAGS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "bench_case.h"

namespace lstmkit::cli {

// Where CLI11 writes the parsed flags.
struct BenchFlags {
  BenchCase bench_case;
  std::string mode;
};

// Adds --mode --batch --seq --input --hidden --layers --threads (required)
// and --bidirectional --proj --repeat --dtype --seed (optional) to `app`,
// and a footer that says what each mode times.
void AddBenchFlags(CLI::App* app, BenchFlags* flags);

// The parsed case, validated; throws UsageError naming the bad flag.
BenchCase ParsedBenchCase(const BenchFlags& flags);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_BENCH_FLAGS_H_
