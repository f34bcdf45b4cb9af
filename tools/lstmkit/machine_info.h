// What the machine offers, read from /proc and sysfs (Linux; cache sizes
// from the C library where sysfs lists none): the facts that
// explain a benchmark's numbers and that the tuner keys its results by.
#ifndef LSTMKIT_TOOLS_LSTMKIT_MACHINE_INFO_H_
#define LSTMKIT_TOOLS_LSTMKIT_MACHINE_INFO_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lstmkit::cli {

struct CacheInfo {
  int level = 0;
  std::string type;         // "data", "instruction" or "unified"
  uint64_t size_bytes = 0;  // of one instance
  int shared_by_cpus = 0;   // logical CPUs that share one instance; 0 when
                            // unknown
};

struct MachineInfo {
  std::string cpu_model;          // "unknown" where /proc/cpuinfo has no name
  int hardware_threads = 0;       // logical CPUs of the machine
  int usable_threads = 0;         // those this process may run on (affinity)
  std::vector<CacheInfo> caches;  // of CPU 0, innermost first
};

MachineInfo ReadMachineInfo();

// "32 KiB", "1 MiB": exact binary units where they divide evenly.
std::string FormatBytes(uint64_t bytes);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_MACHINE_INFO_H_
