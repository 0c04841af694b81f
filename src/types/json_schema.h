// A JSON Schema validator for the subset of draft-07 that artifact type definitions use for
// their configSchema: type, properties, required, additionalProperties, items, enum, const,
// minLength, maxLength, pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// minItems, maxItems, uniqueItems, anyOf, allOf, oneOf, not. Other keywords are ignored,
// as the specification asks of unknown keywords.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace arca {

class JsonSchema {
 public:
  // Parses a schema; an error names what is wrong with it (not a JSON object, nested deeper
  // than kMaxJsonDepth, bad regex...).
  static Result<JsonSchema> Parse(std::string_view schema_json);
  ~JsonSchema();
  JsonSchema(const JsonSchema& other);
  JsonSchema& operator=(const JsonSchema& other);

  // Ok, or MANIFEST_INVALID whose detail names the JSON Pointer of the first violation and
  // the keyword it broke. A document that is not JSON, or nests deeper than kMaxJsonDepth
  // (types/json_limits.h), fails too.
  Status Validate(std::string_view document_json) const;
  const std::string& text() const;

 private:
  struct Impl;
  explicit JsonSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca
