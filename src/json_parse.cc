#include "json_parse.h"

#include <set>
#include <vector>

#include "check.h"
#include "safetensors.h"

namespace lstmkit::internal {

namespace {

using nlohmann::json;

// Thrown from the parse callback to stop parsing; becomes lstmkit::Error.
struct StructureError {
  std::string message;
};

}  // namespace

json ParseStrictJson(const std::string& what, std::string_view text,
                     size_t max_depth) {
  struct Level {
    std::set<std::string> keys;
    std::string last_key;
  };
  std::vector<Level> levels;
  auto check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (levels.size() >= max_depth) {
          throw StructureError{"nests deeper than " +
                               std::to_string(max_depth) + " levels"};
        }
        levels.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        levels.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!levels.back().keys.insert(key).second) {
          std::string message =
              "has the key " + QuoteForMessage(key) + " twice";
          if (levels.size() > 1) {
            message += " in " + QuoteForMessage(levels.front().last_key);
          }
          throw StructureError{message};
        }
        levels.back().last_key = key;
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const StructureError& e) {
    Fail(what, " ", e.message);
  } catch (const json::exception& e) {
    Fail(what, " is not valid JSON: ", e.what());
  }
}

}  // namespace lstmkit::internal
