// Crash-safe file replacement for model files and checkpoints.
#ifndef LSTMKIT_SRC_ATOMIC_FILE_H_
#define LSTMKIT_SRC_ATOMIC_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace lstmkit::internal {

// Makes `path` hold `size` bytes of `data` such that, whatever happens
// meanwhile (a crash, SIGKILL, power loss, a full disk), the path afterwards
// holds either its previous content or all of the new one, never a mix: the
// bytes go to a temporary file in the same directory, which is fsynced,
// renamed over `path`, and then the directory is fsynced so that the rename
// itself is durable. Throws lstmkit::Error naming the path and the failing
// step; the temporary file is removed on every error it can report. A killed
// process may leave its temporary file behind: ".NAME.tmp-PID-N" next to it.
void WriteFileAtomically(const std::string& path, const uint8_t* data,
                         size_t size);

// Tests only: called after each chunk of the temporary file is written
// (before fsync and rename), with the temporary file's path. The hook may
// kill the process to simulate a crash in the middle of a save.
using AtomicWriteHook = void (*)(const std::string& temporary_path,
                                 size_t written, size_t total);
void SetAtomicWriteHookForTesting(AtomicWriteHook hook);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_ATOMIC_FILE_H_
