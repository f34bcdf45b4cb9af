// Helpers for the model-file and checkpoint tests: temporary directories,
// whole-file reads and writes, and an error matcher.
#ifndef LSTMKIT_TESTS_FILE_TEST_UTIL_H_
#define LSTMKIT_TESTS_FILE_TEST_UTIL_H_

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <typeinfo>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::testing {

// A fresh directory, removed with everything in it when the object goes.
class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = ::testing::TempDir() + "lstmkit_files_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDirectory() {
    for (const std::string& name : Files()) {
      ::unlink((path_ + "/" + name).c_str());
    }
    ::rmdir(path_.c_str());
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }
  // The names of the directory's entries, hidden ones included.
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path_.c_str())) {
      while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
      }
      ::closedir(dir);
    }
    return names;
  }

 private:
  std::string path_;
};

inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                              std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path,
                       const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<float> Parameters(const Model& model) {
  const Span<const float> p = model.parameters();
  return std::vector<float>(p.begin(), p.end());
}

// Success only if `body` throws lstmkit::Error whose message contains every
// one of `parts`.
template <typename Body>
::testing::AssertionResult ThrowsError(Body&& body,
                                       const std::vector<std::string>& parts) {
  try {
    body();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "the message \"" << message << "\" does not contain \""
               << part << "\"";
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw " << typeid(e).name() << " (\"" << e.what()
           << "\") instead of lstmkit::Error";
  } catch (...) {
    return ::testing::AssertionFailure()
           << "threw something other than lstmkit::Error";
  }
  return ::testing::AssertionFailure() << "threw nothing";
}

}  // namespace lstmkit::testing

#endif  // LSTMKIT_TESTS_FILE_TEST_UTIL_H_
