#include "tuning.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "check.h"
#include "json_parse.h"

namespace lstmkit::internal {

namespace {

constexpr int kTuningFormat = 1;
// A tuning file is a few hundred bytes; anything far larger is not one.
constexpr size_t kMaxTuningFileBytes = 1 << 20;

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "unknown";
}

nlohmann::json BlockingToJson(const kernels::Blocking& b) {
  return {{"mr", b.mr}, {"nr", b.nr}, {"kc", b.kc}, {"mc", b.mc}, {"nc", b.nc}};
}

int IntField(const nlohmann::json& object, const char* key, int low, int high,
             const std::string& where) {
  const auto it = object.find(key);
  Require(it != object.end() && it->is_number_integer(), where, ": \"", key,
          "\" must be an integer");
  const long long value = it->get<long long>();
  Require(value >= low && value <= high, where, ": \"", key, "\" must be in [",
          low, ", ", high, "], got ", value);
  return static_cast<int>(value);
}

kernels::Blocking BlockingFromJson(const nlohmann::json& j,
                                   const std::string& where,
                                   const kernels::KernelTable& kernels) {
  Require(j.is_object(), where, " must be an object");
  kernels::Blocking b;
  b.mr = IntField(j, "mr", 1, kernels::kMaxTileRows, where);
  b.nr = IntField(j, "nr", 1, kernels::kPanelVectors, where);
  Require(b.nr == 1 || b.nr == 2 || b.nr == 4, where,
          ": \"nr\" must be 1, 2 or 4, got ", b.nr);
  b.kc = IntField(j, "kc", 1, 1 << 16, where);
  b.mc = IntField(j, "mc", b.mr, 1 << 20, where);
  b.nc =
      IntField(j, "nc", kernels::kPanelVectors * kernels.lanes, 1 << 24, where);
  return b;
}

std::string ReadSmallFile(const std::string& path, bool* found) {
  std::ifstream in(path, std::ios::binary);
  *found = static_cast<bool>(in);
  if (!*found) return "";
  std::string text(kMaxTuningFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  Require(text.size() <= kMaxTuningFileBytes, path, " is larger than ",
          kMaxTuningFileBytes, " bytes: not a tuning file");
  return text;
}

// The tuning the file at TuningFilePath() gives this target, or the
// defaults; a file that does not apply is reported once on stderr.
Tuning LoadForTarget(const kernels::KernelTable& kernels) {
  const Tuning defaults = DefaultTuning(kernels);
  const std::string path = TuningFilePath();
  if (path.empty()) return defaults;
  try {
    bool found = false;
    const std::string text = ReadSmallFile(path, &found);
    if (!found) return defaults;
    CpuIdentity cpu;
    Tuning tuning = TuningFromJson(text, path, kernels, &cpu);
    const CpuIdentity here = CurrentCpu(kernels);
    if (!(cpu == here)) {
      std::fprintf(stderr,
                   "lstmkit: ignoring %s: it was made on \"%s\" (%s) and this "
                   "is \"%s\" (%s); using built-in defaults\n",
                   path.c_str(), cpu.model.c_str(), cpu.target.c_str(),
                   here.model.c_str(), here.target.c_str());
      return defaults;
    }
    return tuning;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lstmkit: ignoring tuning file: %s\n", e.what());
    return defaults;
  }
}

struct TuningState {
  std::mutex mutex;
  std::map<int64_t, Tuning> by_target;  // loaded once per target
  bool overridden = false;
  Tuning override_tuning;
};

TuningState& State() {
  static TuningState state;
  return state;
}

}  // namespace

CpuIdentity CurrentCpu(const kernels::KernelTable& kernels) {
  static const std::string model = CpuModelName();
  const kernels::CacheSizes& caches = kernels::Caches();
  return {model, kernels.name, caches.l1d, caches.l2, caches.l3};
}

Tuning DefaultTuning(const kernels::KernelTable& kernels) {
  Tuning tuning;
  tuning.gemm_packed = kernels::DefaultPackedBlocking(kernels);
  tuning.gemm = kernels::DefaultBlocking(kernels);
  tuning.step_rows = tuning.gemm.mr;
  return tuning;
}

Tuning ActiveTuning(const kernels::KernelTable& kernels) {
  TuningState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.overridden) return state.override_tuning;
  auto it = state.by_target.find(kernels.target);
  if (it == state.by_target.end()) {
    it = state.by_target.emplace(kernels.target, LoadForTarget(kernels)).first;
  }
  return it->second;
}

void OverrideTuning(const Tuning* tuning) {
  TuningState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.overridden = tuning != nullptr;
  if (tuning != nullptr) state.override_tuning = *tuning;
}

std::string TuningFilePath() {
  // Set and empty means no file at all, so that a run can be pinned to the
  // built-in defaults.
  if (const char* env = std::getenv("LSTMKIT_TUNING")) return env;
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache) {
    return std::string(cache) + "/lstmkit/tuning.json";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/lstmkit/tuning.json";
  }
  return "";
}

std::string TuningToJson(const Tuning& tuning, const CpuIdentity& cpu,
                         const std::string& notes_json) {
  nlohmann::json j;
  j["format"] = kTuningFormat;
  j["cpu"] = {{"model", cpu.model},
              {"target", cpu.target},
              {"l1d", cpu.l1d},
              {"l2", cpu.l2},
              {"l3", cpu.l3}};
  j["gemm_packed"] = BlockingToJson(tuning.gemm_packed);
  j["gemm"] = BlockingToJson(tuning.gemm);
  j["step_rows"] = tuning.step_rows;
  j["task_rows"] = tuning.task_rows;
  j["task_panels"] = tuning.task_panels;
  j["stream_parallel_bytes"] = tuning.stream_parallel_bytes;
  j["measurements"] = notes_json.empty() ? nlohmann::json::object()
                                         : nlohmann::json::parse(notes_json);
  return j.dump(2) + "\n";
}

Tuning TuningFromJson(const std::string& text, const std::string& source,
                      const kernels::KernelTable& kernels, CpuIdentity* cpu) {
  const nlohmann::json j = ParseStrictJson(source, text, /*max_depth=*/8);
  Require(j.is_object(), source, ": a tuning file is a JSON object");
  Require(IntField(j, "format", 1, 1 << 20, source) == kTuningFormat, source,
          ": tuning file format ", j.value("format", 0),
          ", this lstmkit reads ", kTuningFormat);
  const auto c = j.find("cpu");
  Require(c != j.end() && c->is_object(), source,
          ": \"cpu\" must be an object");
  Require(c->contains("model") && (*c)["model"].is_string() &&
              c->contains("target") && (*c)["target"].is_string(),
          source, ": \"cpu\" needs \"model\" and \"target\" strings");
  cpu->model = (*c)["model"].get<std::string>();
  cpu->target = (*c)["target"].get<std::string>();
  const std::string where = source + ": cpu";
  cpu->l1d = static_cast<size_t>(IntField(*c, "l1d", 0, 1 << 30, where));
  cpu->l2 = static_cast<size_t>(IntField(*c, "l2", 0, 1 << 30, where));
  cpu->l3 = static_cast<size_t>(IntField(*c, "l3", 0, 1 << 30, where));
  Tuning t;
  t.gemm_packed = BlockingFromJson(j.value("gemm_packed", nlohmann::json()),
                                   source + ": gemm_packed", kernels);
  t.gemm = BlockingFromJson(j.value("gemm", nlohmann::json()),
                            source + ": gemm", kernels);
  t.step_rows = IntField(j, "step_rows", 1, kernels::kMaxTileRows, source);
  t.task_rows = IntField(j, "task_rows", 1, 1 << 20, source);
  t.task_panels = IntField(j, "task_panels", 1, 1 << 16, source);
  const auto bytes = j.find("stream_parallel_bytes");
  Require(bytes != j.end() && bytes->is_number_unsigned(), source,
          ": \"stream_parallel_bytes\" must be a non-negative integer");
  t.stream_parallel_bytes = bytes->get<size_t>();
  t.source = source;
  return t;
}

}  // namespace lstmkit::internal
