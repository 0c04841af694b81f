#include "types/json_limits.h"

#include <string>
#include <utility>
#include <vector>

namespace arca {
namespace {

using json = nlohmann::json;

// Builds the document as nlohmann's own DOM parser does, refusing a container past the depth
// limit when it opens: returning false stops the parse there, so a deep document costs no more
// than its first max_depth levels. Not nlohmann's callback parser: after every closing object
// it scans the parent for discarded values, quadratic in the length of an array of objects
// (a 1 MiB config array of 40,000 objects took seconds instead of milliseconds).
class BoundedDomBuilder : public nlohmann::json_sax<json> {
 public:
  explicit BoundedDomBuilder(size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return Put(nullptr); }
  bool boolean(bool v) override { return Put(v); }
  bool number_integer(number_integer_t v) override { return Put(v); }
  bool number_unsigned(number_unsigned_t v) override { return Put(v); }
  bool number_float(number_float_t v, const string_t&) override { return Put(v); }
  bool string(string_t& v) override { return Put(std::move(v)); }
  bool binary(binary_t& v) override { return Put(json::binary(std::move(v))); }
  bool start_object(std::size_t) override { return Open(json::object()); }
  bool start_array(std::size_t) override { return Open(json::array()); }
  bool key(string_t& k) override {
    // operator[] on an existing key overwrites it: the last duplicate wins, as in nlohmann.
    member_ = &(*open_.back())[k];
    return true;
  }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::json::exception& e) override {
    error_position_ = position;
    error_id_ = e.id;
    return false;
  }

  json& root() { return root_; }
  bool too_deep() const { return too_deep_; }
  std::size_t error_position() const { return error_position_; }
  int error_id() const { return error_id_; }

 private:
  // Places v where the parse stands: the root, the end of the open array, or the member
  // whose key came last. Pointers into open containers stay valid because only the innermost
  // one grows while it is open.
  json* Place(json&& v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *open_.back();
    if (top.is_array()) {
      top.get_ref<json::array_t&>().push_back(std::move(v));
      return &top.get_ref<json::array_t&>().back();
    }
    *member_ = std::move(v);
    return member_;
  }
  bool Put(json&& v) {
    Place(std::move(v));
    return true;
  }
  bool Open(json&& container) {
    if (open_.size() >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    open_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }

  const size_t max_depth_;
  json root_;
  std::vector<json*> open_;  // the containers being filled, outermost first
  json* member_ = nullptr;   // the object member the next value goes to
  bool too_deep_ = false;
  std::size_t error_position_ = 0;
  int error_id_ = 0;
};

}  // namespace

Result<json> ParseJsonBounded(std::string_view text, int max_depth) {
  BoundedDomBuilder builder(max_depth < 0 ? 0 : static_cast<size_t>(max_depth));
  if (json::sax_parse(text.begin(), text.end(), &builder)) return std::move(builder.root());
  if (builder.too_deep()) {
    return Status(ErrorCode::kManifestInvalid, "JSON nested too deep",
                  "arrays and objects nest deeper than " + std::to_string(max_depth) +
                      " levels, the limit on JSON documents");
  }
  if (builder.error_id() == 406) {  // out_of_range.406: a number past the range of a double
    return Status(ErrorCode::kManifestInvalid, "malformed JSON",
                  "a number is out of the range of a double");
  }
  return Status(ErrorCode::kManifestInvalid, "malformed JSON",
                "not well-formed JSON (at byte " + std::to_string(builder.error_position()) + ")");
}

}  // namespace arca
