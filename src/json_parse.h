// Strict JSON parsing for text that comes from files.
#ifndef LSTMKIT_SRC_JSON_PARSE_H_
#define LSTMKIT_SRC_JSON_PARSE_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lstmkit::internal {

// Parses `text`, rejecting while it parses (before a deep or repetitive
// structure is built) nesting deeper than max_depth objects and arrays, and
// keys repeated within one object, on which JSON libraries disagree about
// which copy wins. Throws lstmkit::Error whose message starts with `what`,
// e.g. "model.safetensors: the header".
nlohmann::json ParseStrictJson(const std::string& what, std::string_view text,
                               size_t max_depth);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_JSON_PARSE_H_
