// The flags of the commands that use a trained model (eval, predict): which
// model, which data, and the task-specific choices they share.
#ifndef LSTMKIT_TOOLS_LSTMKIT_USE_FLAGS_H_
#define LSTMKIT_TOOLS_LSTMKIT_USE_FLAGS_H_

#include <string>

namespace lstmkit::cli {

struct UseFlags {
  std::string model_path;
  std::string data_path;
  std::string header = "auto";  // CSV files: auto, yes or no
  int holdout = -1;             // forecast eval: rows; -1 = the model's own
  double tail = 1.0;            // charlm eval: the fraction at the end
  int threads = 0;
  bool plot = true;
  std::string output;  // where CSV results go; empty = beside the model
};

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_USE_FLAGS_H_
