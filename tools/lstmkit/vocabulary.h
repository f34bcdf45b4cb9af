// The characters a model reads and writes, stored in its file so that
// generation and evaluation map text exactly as training did.
#ifndef LSTMKIT_TOOLS_LSTMKIT_VOCABULARY_H_
#define LSTMKIT_TOOLS_LSTMKIT_VOCABULARY_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "nlohmann/json.hpp"

namespace lstmkit::cli {

class Vocabulary {
 public:
  // Every distinct character of the text, in code-point order.
  static Vocabulary FromText(const std::u32string& text);
  // From ToJson(): an array of code points. Throws on anything else.
  static Vocabulary FromJson(const nlohmann::json& json);
  nlohmann::json ToJson() const;

  int size() const { return static_cast<int>(symbols_.size()); }
  // The character's index, or -1 when it is not in the vocabulary.
  int IdOf(char32_t c) const;
  char32_t SymbolOf(int id) const { return symbols_.at(id); }

 private:
  void Index();

  std::vector<char32_t> symbols_;
  std::unordered_map<char32_t, int> ids_;
};

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_VOCABULARY_H_
