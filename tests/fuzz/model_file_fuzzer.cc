// libFuzzer entry point for the model-file readers (tools/check runs it for
// LSTMKIT_FUZZ_SECONDS, 60 by default, from the corpus in tests/fuzz/corpus).
#include <cstddef>
#include <cstdint>

#include "model_file_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lstmkit::fuzz::CheckModelFileInput(data, size);
  return 0;
}
