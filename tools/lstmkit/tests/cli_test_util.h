// Running `lstmkit` in-process from tests, and scratch files for it.
#ifndef LSTMKIT_TOOLS_LSTMKIT_TESTS_CLI_TEST_UTIL_H_
#define LSTMKIT_TOOLS_LSTMKIT_TESTS_CLI_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"

namespace lstmkit::cli::testing {

struct CliRun {
  int exit_status = -1;
  std::string out;
  std::string err;
};

inline CliRun RunLstmkit(std::vector<std::string> args) {
  args.insert(args.begin(), "lstmkit");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  CliRun run;
  run.exit_status =
      RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

// A folder of its own for each test, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("lstmkit_cli_" + name + "_" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }

  std::string Path(const std::string& file) const {
    return (path_ / file).string();
  }
  std::string Write(const std::string& file, const std::string& bytes) const {
    std::ofstream(Path(file), std::ios::binary) << bytes;
    return Path(file);
  }

 private:
  std::filesystem::path path_;
};

inline int CountLines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

}  // namespace lstmkit::cli::testing

#endif  // LSTMKIT_TOOLS_LSTMKIT_TESTS_CLI_TEST_UTIL_H_
