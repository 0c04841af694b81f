#include "types/json_limits.h"

#include <string>

namespace arca {
namespace {

using json = nlohmann::json;

// Thrown by the parser callback to stop at the first container past the limit, caught below.
// Stopping early matters: read to the end, 4 MiB of "[" would still fill the parser's
// per-level stacks (about 9 bytes a level) before failing.
struct NestedTooDeep {};

Status TooDeep(int max_depth) {
  return Status(ErrorCode::kManifestInvalid, "JSON nested too deep",
                "arrays and objects nest deeper than " + std::to_string(max_depth) +
                    " levels, the limit on JSON documents");
}

}  // namespace

Result<json> ParseJsonBounded(std::string_view text, int max_depth) {
  // The callback's depth is the number of containers around the one starting, so a container
  // at nesting level L (the top one is level 1) is seen with depth L - 1.
  json::parser_callback_t limit = [max_depth](int depth, json::parse_event_t event, json&) {
    bool opens = event == json::parse_event_t::object_start ||
                 event == json::parse_event_t::array_start;
    if (opens && depth >= max_depth) throw NestedTooDeep{};
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/true);
  } catch (const NestedTooDeep&) {
    return TooDeep(max_depth);
  } catch (const json::parse_error& e) {
    return Status(ErrorCode::kManifestInvalid, "malformed JSON",
                  "not well-formed JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const json::out_of_range&) {
    return Status(ErrorCode::kManifestInvalid, "malformed JSON",
                  "a number is out of the range of a double");
  } catch (const json::exception&) {
    return Status(ErrorCode::kManifestInvalid, "malformed JSON", "not well-formed JSON");
  }
}

}  // namespace arca
