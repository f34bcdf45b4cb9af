// Reading the files a user points the command line at. Every error names
// the file, so that a message makes sense without the command around it.
#ifndef LSTMKIT_TOOLS_LSTMKIT_INPUT_FILE_H_
#define LSTMKIT_TOOLS_LSTMKIT_INPUT_FILE_H_

#include <string>

namespace lstmkit::cli {

// The whole file. Throws std::runtime_error "PATH: cannot open: REASON" or,
// for a file with no bytes, "PATH: the file is empty".
std::string ReadInputFile(const std::string& path);

// Writes `text` to `path`, replacing it; throws naming the path on failure.
void WriteTextFile(const std::string& path, const std::string& text);

// "PATH:LINE:COLUMN: " — the prefix of an error about a place in a file.
std::string Place(const std::string& path, int line, int column);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_INPUT_FILE_H_
