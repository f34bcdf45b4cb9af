#include "vocabulary.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace lstmkit::cli {

Vocabulary Vocabulary::FromText(const std::u32string& text) {
  const std::set<char32_t> distinct(text.begin(), text.end());
  Vocabulary vocabulary;
  vocabulary.symbols_.assign(distinct.begin(), distinct.end());
  vocabulary.Index();
  return vocabulary;
}

Vocabulary Vocabulary::FromJson(const nlohmann::json& json) {
  if (!json.is_array() || json.empty()) {
    throw std::runtime_error("the vocabulary must be a non-empty array");
  }
  Vocabulary vocabulary;
  for (const nlohmann::json& entry : json) {
    if (!entry.is_number_unsigned() || entry.get<uint64_t>() > 0x10FFFF) {
      throw std::runtime_error(
          "the vocabulary holds a value that is not a "
          "code point: " +
          entry.dump());
    }
    vocabulary.symbols_.push_back(static_cast<char32_t>(entry.get<uint64_t>()));
  }
  vocabulary.Index();
  if (vocabulary.ids_.size() != vocabulary.symbols_.size()) {
    throw std::runtime_error("the vocabulary lists a character twice");
  }
  return vocabulary;
}

nlohmann::json Vocabulary::ToJson() const {
  nlohmann::json json = nlohmann::json::array();
  for (char32_t c : symbols_) json.push_back(static_cast<uint32_t>(c));
  return json;
}

int Vocabulary::IdOf(char32_t c) const {
  const auto found = ids_.find(c);
  return found == ids_.end() ? -1 : found->second;
}

void Vocabulary::Index() {
  ids_.clear();
  for (size_t i = 0; i < symbols_.size(); ++i) {
    ids_.emplace(symbols_[i], static_cast<int>(i));
  }
}

}  // namespace lstmkit::cli
