// `lstmkit info`: the machine and the library as a benchmark sees them, as
// text or as one JSON object.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_case.h"
#include "commands.h"
#include "fma_peak.h"
#include "lstmkit/lstmkit.hpp"
#include "machine_info.h"
#include "nlohmann/json.hpp"

namespace lstmkit::cli {
namespace {

struct InfoFlags {
  bool json = false;
  bool peak = false;
  std::string file;  // a model file or checkpoint to describe instead
};

// A file's config, tensors and checksum state. A damaged file (checksum
// mismatch) is described and then fails the command, so that scripts
// notice; one that cannot be read at all fails with the loader's message.
int DescribeFile(const InfoFlags& flags, CommandIo& io) {
  if (flags.json || flags.peak) {
    throw UsageError("--json and --peak describe the machine, not a file");
  }
  const ModelFileInfo info = InspectModelFile(flags.file);
  io.out << DescribeModelFile(flags.file);
  if (info.checksum == ChecksumState::kMismatch) {
    io.err << "lstmkit info: error: " << flags.file
           << ": the data do not match the recorded checksum" << std::endl;
    return kExitFailure;
  }
  return kExitOk;
}

// "L1d", "L1i", "L2": the usual short names.
std::string CacheName(const CacheInfo& cache) {
  std::string name = "L" + std::to_string(cache.level);
  if (cache.type == "data") name += "d";
  if (cache.type == "instruction") name += "i";
  return name;
}

std::string JoinTargets(const std::vector<std::string>& targets) {
  std::string joined;
  for (const std::string& t : targets)
    joined += (joined.empty() ? "" : ", ") + t;
  return joined;
}

void PrintText(const MachineInfo& machine, const double* peak_gflops,
               std::ostream& out) {
  out << "lstmkit " << Version() << "\n"
      << "cpu       " << machine.cpu_model << "\n"
      << "target    " << ActiveTarget()
      << " (available: " << JoinTargets(AvailableTargets()) << ")\n"
      << "threads   " << machine.usable_threads << " usable of "
      << machine.hardware_threads << " hardware threads\n";
  for (const CacheInfo& cache : machine.caches) {
    out << "cache     " << CacheName(cache) << " "
        << FormatBytes(cache.size_bytes);
    if (cache.shared_by_cpus > 0) {
      out << ", shared by " << cache.shared_by_cpus << " cpu"
          << (cache.shared_by_cpus == 1 ? "" : "s");
    }
    out << "\n";
  }
  out << DescribeTuning();
  if (peak_gflops != nullptr) {
    char peak[32];
    std::snprintf(peak, sizeof(peak), "%.1f", *peak_gflops);
    out << "fma peak  " << peak
        << " GFLOP/s f32 on one thread (measured now)\n";
  }
}

void PrintJson(const MachineInfo& machine, const double* peak_gflops,
               std::ostream& out) {
  nlohmann::ordered_json info;
  info["version"] = Version();
  info["cpu"] = machine.cpu_model;
  info["target"] = ActiveTarget();
  info["available_targets"] = AvailableTargets();
  info["hardware_threads"] = machine.hardware_threads;
  info["usable_threads"] = machine.usable_threads;
  info["caches"] = nlohmann::ordered_json::array();
  for (const CacheInfo& cache : machine.caches) {
    info["caches"].push_back({{"name", CacheName(cache)},
                              {"level", cache.level},
                              {"type", cache.type},
                              {"size_bytes", cache.size_bytes},
                              {"shared_by_cpus", cache.shared_by_cpus}});
  }
  // The same description as the text output: where the tuning came from
  // and the parameters in effect.
  info["tuning"] = DescribeTuning();
  if (peak_gflops != nullptr) info["fma_peak_gflops"] = *peak_gflops;
  out << info.dump() << std::endl;
}

}  // namespace

Command AddInfoCommand(CLI::App* parent) {
  CLI::App* app = parent->add_subcommand(
      "info",
      "Print the CPU, SIMD target, caches, threads and version, or describe "
      "a model file");
  auto flags = std::make_shared<InfoFlags>();
  app->add_flag("--json", flags->json, "one JSON object instead of text");
  app->add_flag("--peak", flags->peak,
                "also measure the f32 FMA peak of one thread (about 0.2 s)");
  app->add_option("file", flags->file,
                  "a model file or checkpoint: print its config, tensors and "
                  "checksum state instead");
  app->footer(
      "Examples:\n"
      "  lstmkit info                  # this machine, and the tuning in "
      "effect\n"
      "  lstmkit info --json --peak    # the same as JSON, with the FMA peak\n"
      "  lstmkit info airline.lstm     # what a model file holds");
  return {app, [flags](CommandIo& io) {
            if (!flags->file.empty()) return DescribeFile(*flags, io);
            const MachineInfo machine = ReadMachineInfo();
            double peak = 0;
            if (flags->peak) peak = bench::MeasuredFmaPeakGflops();
            const double* peak_or_null = flags->peak ? &peak : nullptr;
            if (flags->json) {
              PrintJson(machine, peak_or_null, io.out);
            } else {
              PrintText(machine, peak_or_null, io.out);
            }
            return kExitOk;
          }};
}

}  // namespace lstmkit::cli
