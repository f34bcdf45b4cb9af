#include "machine_info.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

namespace lstmkit::cli {
namespace {

constexpr char kCacheDir[] = "/sys/devices/system/cpu/cpu0/cache/index";

// The first line of a small file, or "" when it cannot be read.
std::string ReadLine(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

int UsableThreads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return CPU_COUNT(&set);
}

// sysfs writes sizes as "32K" or "32768K"; "" or garbage gives 0.
uint64_t ParseSize(const std::string& text) {
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
       ++i) {
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i < text.size() && text[i] == 'K') value <<= 10;
  if (i < text.size() && text[i] == 'M') value <<= 20;
  return value;
}

// "0-1,4,6-7" -> 5.
int CountCpuList(const std::string& list) {
  int count = 0;
  std::stringstream ranges(list);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    const size_t dash = range.find('-');
    if (range.empty()) continue;
    if (dash == std::string::npos) {
      ++count;
    } else {
      count += std::stoi(range.substr(dash + 1)) -
               std::stoi(range.substr(0, dash)) + 1;
    }
  }
  return count;
}

// Some virtual machines list no caches in sysfs; glibc still reads the
// sizes from cpuid, but not which CPUs share them (0: unknown).
std::vector<CacheInfo> CachesFromLibc() {
  const struct {
    int level;
    const char* type;
    int name;
  } kLevels[] = {{1, "data", _SC_LEVEL1_DCACHE_SIZE},
                 {1, "instruction", _SC_LEVEL1_ICACHE_SIZE},
                 {2, "unified", _SC_LEVEL2_CACHE_SIZE},
                 {3, "unified", _SC_LEVEL3_CACHE_SIZE}};
  std::vector<CacheInfo> caches;
  for (const auto& level : kLevels) {
    const long size = sysconf(level.name);
    if (size <= 0) continue;
    caches.push_back({level.level, level.type, static_cast<uint64_t>(size), 0});
  }
  return caches;
}

std::vector<CacheInfo> Caches() {
  std::vector<CacheInfo> caches;
  for (int index = 0;; ++index) {
    const std::string dir = kCacheDir + std::to_string(index) + "/";
    const std::string level = ReadLine(dir + "level");
    if (level.empty()) break;
    CacheInfo cache;
    cache.level = std::stoi(level);
    cache.type = ReadLine(dir + "type");
    std::transform(cache.type.begin(), cache.type.end(), cache.type.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    cache.size_bytes = ParseSize(ReadLine(dir + "size"));
    cache.shared_by_cpus = CountCpuList(ReadLine(dir + "shared_cpu_list"));
    caches.push_back(cache);
  }
  if (caches.empty()) return CachesFromLibc();
  return caches;
}

}  // namespace

MachineInfo ReadMachineInfo() {
  MachineInfo info;
  info.cpu_model = CpuModel();
  info.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  info.usable_threads = UsableThreads();
  info.caches = Caches();
  return info;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) {
    return std::to_string(bytes >> 10) + " KiB";
  }
  return std::to_string(bytes) + " B";
}

}  // namespace lstmkit::cli
