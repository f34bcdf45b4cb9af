// The training state of a character language model, which the library's
// Trainer checkpoint cannot hold because the recurrent states carry from
// one chunk to the next: the model, the optimizer's moments, the carried
// states and the position, in one file written atomically.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CHARLM_CHECKPOINT_H_
#define LSTMKIT_TOOLS_LSTMKIT_CHARLM_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "nlohmann/json.hpp"

namespace lstmkit::cli {

struct CharLmCheckpoint {
  nlohmann::json position;          // epoch, chunk, history, settings
  std::vector<uint8_t> model_file;  // SaveModelToBuffer's bytes
  OptimizerState optimizer;
  std::vector<float> h, c;  // [L][B][H], carried into the next chunk
};

// Layout: the magic line, a little-endian u64 length, a JSON header that
// gives the position and every section's size, then the sections (model
// file, first moments, second moments, h, c). Written to a temporary file
// that is renamed over `path`.
void SaveCharLmCheckpoint(const CharLmCheckpoint& checkpoint,
                          const std::string& path);
// Validates every size against the file before reading; throws
// std::runtime_error naming the file and what is wrong.
CharLmCheckpoint LoadCharLmCheckpoint(const std::string& path);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CHARLM_CHECKPOINT_H_
