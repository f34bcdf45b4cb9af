// The body of the model-file fuzzer, shared with the regression test that
// replays the committed corpus under the normal test runner.
#ifndef LSTMKIT_TESTS_FUZZ_MODEL_FILE_FUZZ_H_
#define LSTMKIT_TESTS_FUZZ_MODEL_FILE_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace lstmkit::fuzz {

// Feeds one input to every reader of model files: the model loader, the
// description, and the checkpoint loader. Returns normally when each reader
// accepts the input or rejects it with lstmkit::Error. Whatever a reader
// accepts must also survive being written and read again unchanged;
// otherwise this aborts. A crash, a sanitizer report, an exception of
// another type or an abort is a bug.
void CheckModelFileInput(const uint8_t* data, size_t size);

}  // namespace lstmkit::fuzz

#endif  // LSTMKIT_TESTS_FUZZ_MODEL_FILE_FUZZ_H_
