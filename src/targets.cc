#include "check.h"
#include "kernels.h"

namespace lstmkit {

std::string ActiveTarget() { return kernels::ActiveKernels().name; }

std::vector<std::string> AvailableTargets() {
  std::vector<std::string> names;
  for (const kernels::KernelTable* t : kernels::AvailableKernels()) {
    names.push_back(t->name);
  }
  return names;
}

void SetTarget(const std::string& name) {
  if (kernels::SelectKernels(name)) return;
  std::string valid;
  for (const std::string& t : AvailableTargets()) {
    valid += (valid.empty() ? "" : ", ") + t;
  }
  internal::Fail("target '", name,
                 "' is not available on this CPU; available: ", valid);
}

}  // namespace lstmkit
