// Chooses the kernel table: the best target this CPU supports, unless
// LSTMKIT_TARGET or SelectKernels asks for another. Highway's process-wide
// chosen target is left alone, so an application's own Highway code is
// unaffected.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "hwy/targets.h"
#include "kernels.h"

namespace lstmkit::kernels {

namespace {

std::string Upper(std::string s) {
  for (char& ch : s)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

const KernelTable* FindByName(const std::string& name) {
  for (const KernelTable* t : AvailableKernels()) {
    if (Upper(t->name) == Upper(name)) return t;
  }
  return nullptr;
}

std::atomic<const KernelTable*>& Active() {
  static std::atomic<const KernelTable*> active{
      KernelsForSetting(std::getenv("LSTMKIT_TARGET"))};
  return active;
}

}  // namespace

const KernelTable* KernelsForSetting(const char* setting) {
  const KernelTable* best = AvailableKernels().front();
  if (setting == nullptr || *setting == '\0') return best;
  if (const KernelTable* chosen = FindByName(setting)) return chosen;
  std::fprintf(stderr,
               "lstmkit: LSTMKIT_TARGET=%s is not an available target; "
               "using %s\n",
               setting, best->name);
  return best;
}

const std::vector<const KernelTable*>& AvailableKernels() {
  static const std::vector<const KernelTable*> available = [] {
    std::vector<const KernelTable*> tables = SupportedKernelTables();
    // Highway gives better targets lower bit values.
    std::sort(tables.begin(), tables.end(),
              [](const KernelTable* a, const KernelTable* b) {
                return a->target < b->target;
              });
    return tables;
  }();
  return available;
}

const KernelTable& ActiveKernels() { return *Active().load(); }

bool SelectKernels(const std::string& name) {
  const KernelTable* table = FindByName(name);
  if (table == nullptr) return false;
  Active().store(table);
  return true;
}

}  // namespace lstmkit::kernels
