#include "input_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lstmkit::cli {

std::string ReadInputFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad()) throw std::runtime_error(path + ": cannot read the file");
  std::string text = bytes.str();
  if (text.empty()) throw std::runtime_error(path + ": the file is empty");
  return text;
}

void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  }
  file << text;
  file.close();
  if (!file) throw std::runtime_error(path + ": cannot write the file");
}

std::string Place(const std::string& path, int line, int column) {
  return path + ":" + std::to_string(line) + ":" + std::to_string(column) +
         ": ";
}

}  // namespace lstmkit::cli
