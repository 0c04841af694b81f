#include "types/json_schema.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "types/json_limits.h"

namespace arca {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxPatternInput = 4096;
// libstdc++'s regex compiler recurses once per term of a pattern: a long pattern overflows a
// thread's stack (found by tests/hardening/test_fuzz.py). Patterns in schemas are short.
constexpr size_t kMaxPatternLength = 512;

struct Checker {
  std::string error;  // the first violation, "<pointer>: <what>"

  bool Fail(const std::string& where, const std::string& what) {
    if (error.empty()) error = (where.empty() ? "/" : where) + ": " + what;
    return false;
  }

  static bool TypeMatches(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "number") return v.is_number();
    if (t == "integer") {
      return v.is_number_integer() ||
             (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    }
    return false;
  }

  // Code points, not bytes, as JSON Schema counts string length.
  static size_t Utf8Length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  bool Check(const json& s, const json& v, const std::string& at) {
    if (s.is_boolean()) return s.get<bool>() || Fail(at, "no value is allowed here");
    if (!s.is_object()) return true;
    if (auto t = s.find("type"); t != s.end()) {
      bool ok = false;
      if (t->is_string()) ok = TypeMatches(v, *t);
      if (t->is_array()) {
        for (const auto& x : *t) ok = ok || (x.is_string() && TypeMatches(v, x));
      }
      if (!ok) return Fail(at, "must be of type " + t->dump());
    }
    if (auto e = s.find("enum"); e != s.end() && e->is_array()) {
      bool found = false;
      for (const auto& x : *e) found = found || Equal(x, v);
      if (!found) return Fail(at, "must be one of " + e->dump());
    }
    if (auto c = s.find("const"); c != s.end() && !Equal(*c, v)) {
      return Fail(at, "must be " + c->dump());
    }
    if (v.is_string() && !CheckString(s, v.get_ref<const std::string&>(), at)) return false;
    if (v.is_number() && !CheckNumber(s, v.get<double>(), at)) return false;
    if (v.is_object() && !CheckObject(s, v, at)) return false;
    if (v.is_array() && !CheckArray(s, v, at)) return false;
    return CheckCombinators(s, v, at);
  }

  bool CheckString(const json& s, const std::string& v, const std::string& at) {
    size_t len = Utf8Length(v);
    if (auto m = s.find("minLength"); m != s.end() && m->is_number() && len < m->get<double>()) {
      return Fail(at, "is shorter than minLength " + m->dump());
    }
    if (auto m = s.find("maxLength"); m != s.end() && m->is_number() && len > m->get<double>()) {
      return Fail(at, "is longer than maxLength " + m->dump());
    }
    if (auto p = s.find("pattern"); p != s.end() && p->is_string()) {
      // std::regex recurses per character: bound the input so a pushed config cannot
      // exhaust the stack.
      if (v.size() > kMaxPatternInput) {
        return Fail(at, "is longer than " + std::to_string(kMaxPatternInput) +
                            " bytes, the most a pattern is matched against");
      }
      if (p->get_ref<const std::string&>().size() > kMaxPatternLength) {  // refused at load
        return Fail(at, "the schema's pattern is longer than " + std::to_string(kMaxPatternLength));
      }
      try {
        if (!std::regex_search(v, std::regex(p->get<std::string>(), std::regex::ECMAScript))) {
          return Fail(at, "does not match pattern " + p->dump());
        }
      } catch (const std::regex_error&) {
        return Fail(at, "the schema's pattern " + p->dump() + " is not a valid regex");
      }
    }
    return true;
  }

  bool CheckNumber(const json& s, double v, const std::string& at) {
    auto num = [&](const char* k, double& out) {
      auto it = s.find(k);
      if (it == s.end() || !it->is_number()) return false;
      out = it->get<double>();
      return true;
    };
    double b;
    if (num("minimum", b) && v < b) return Fail(at, "is less than minimum");
    if (num("maximum", b) && v > b) return Fail(at, "is greater than maximum");
    if (num("exclusiveMinimum", b) && v <= b) return Fail(at, "is not greater than exclusiveMinimum");
    if (num("exclusiveMaximum", b) && v >= b) return Fail(at, "is not less than exclusiveMaximum");
    return true;
  }

  bool CheckObject(const json& s, const json& v, const std::string& at) {
    if (auto r = s.find("required"); r != s.end() && r->is_array()) {
      for (const auto& k : *r) {
        if (k.is_string() && !v.contains(k.get<std::string>())) {
          return Fail(at, "is missing required property \"" + k.get<std::string>() + "\"");
        }
      }
    }
    auto props = s.find("properties");
    auto extra = s.find("additionalProperties");
    for (const auto& [k, child] : v.items()) {
      std::string where = at + "/" + Escape(k);
      if (props != s.end() && props->is_object() && props->contains(k)) {
        if (!Check((*props)[k], child, where)) return false;
      } else if (extra != s.end()) {
        if (extra->is_boolean() && !extra->get<bool>()) return Fail(where, "is not an allowed property");
        if (!Check(*extra, child, where)) return false;
      }
    }
    return true;
  }

  bool CheckArray(const json& s, const json& v, const std::string& at) {
    auto count = [&](const char* k, double& out) {
      auto it = s.find(k);
      if (it == s.end() || !it->is_number()) return false;
      out = it->get<double>();
      return true;
    };
    double b;
    if (count("minItems", b) && v.size() < b) return Fail(at, "has fewer items than minItems");
    if (count("maxItems", b) && v.size() > b) return Fail(at, "has more items than maxItems");
    if (auto u = s.find("uniqueItems"); u != s.end() && u->is_boolean() && u->get<bool>()) {
      std::set<std::string> seen;
      for (const auto& x : v) {
        if (!seen.insert(Canonical(x).dump()).second) return Fail(at, "has duplicate items");
      }
    }
    if (auto items = s.find("items"); items != s.end() && (items->is_object() || items->is_boolean())) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (!Check(*items, v[i], at + "/" + std::to_string(i))) return false;
      }
    }
    return true;
  }

  bool CheckCombinators(const json& s, const json& v, const std::string& at) {
    if (auto a = s.find("allOf"); a != s.end() && a->is_array()) {
      for (const auto& sub : *a) {
        if (!Check(sub, v, at)) return false;
      }
    }
    if (auto a = s.find("anyOf"); a != s.end() && a->is_array()) {
      bool any = false;
      for (const auto& sub : *a) any = any || Checker().Check(sub, v, at);
      if (!any) return Fail(at, "matches none of anyOf");
    }
    if (auto a = s.find("oneOf"); a != s.end() && a->is_array()) {
      int n = 0;
      for (const auto& sub : *a) n += Checker().Check(sub, v, at) ? 1 : 0;
      if (n != 1) return Fail(at, "matches " + std::to_string(n) + " of oneOf, not exactly one");
    }
    if (auto n = s.find("not"); n != s.end() && Checker().Check(*n, v, at)) {
      return Fail(at, "matches a schema under not");
    }
    return true;
  }

  // 1.0 and 1 are the same JSON Schema value: integral floats become integers.
  static json Canonical(const json& v) {
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::floor(d) == d && std::fabs(d) < 9e15) return json(static_cast<int64_t>(d));
      return v;
    }
    if (v.is_array()) {
      json out = json::array();
      for (const auto& x : v) out.push_back(Canonical(x));
      return out;
    }
    if (v.is_object()) {
      json out = json::object();
      for (const auto& [k, x] : v.items()) out[k] = Canonical(x);
      return out;
    }
    return v;
  }

  static bool Equal(const json& a, const json& b) { return Canonical(a) == Canonical(b); }

  static std::string Escape(const std::string& k) {
    std::string out;
    for (char c : k) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
    return out;
  }
};

// Checks that a schema is well formed for the keywords Arca implements, and refuses the
// keywords it does not ($ref, if/then/else, ...): a check that silently does nothing is worse
// than a definition that fails to load. Returns "" or "<pointer>: <why>".
std::string ShapeError(const json& s, const std::string& at) {
  if (s.is_boolean()) return "";
  if (!s.is_object()) return at + ": a schema is an object or a boolean";
  static const std::set<std::string> kTypes = {"object", "array", "string", "number",
                                               "integer", "boolean", "null"};
  static const std::set<std::string> kAnnotations = {"title", "description", "$schema", "$id",
                                                     "$comment", "default", "examples", "format",
                                                     "readOnly", "writeOnly"};
  auto is_count = [](const json& v) {
    return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  };
  for (const auto& [k, v] : s.items()) {
    std::string here = at + "/" + k;
    if (kAnnotations.count(k)) continue;
    if (k == "type") {
      bool ok = v.is_string() ? kTypes.count(v.get<std::string>()) > 0 : v.is_array() && !v.empty();
      if (v.is_array()) {
        for (const auto& t : v) ok = ok && t.is_string() && kTypes.count(t.get<std::string>());
      }
      if (!ok) return here + ": must name JSON types (object, array, string, number, integer, boolean, null)";
    } else if (k == "required") {
      bool ok = v.is_array();
      for (const auto& x : v) ok = ok && x.is_string();
      if (!ok) return here + ": must be an array of property names";
    } else if (k == "properties") {
      if (!v.is_object()) return here + ": must map property names to schemas";
      for (const auto& [name, sub] : v.items()) {
        if (auto e = ShapeError(sub, here + "/" + name); !e.empty()) return e;
      }
    } else if (k == "additionalProperties" || k == "items" || k == "not") {
      if (k == "items" && v.is_array()) return here + ": tuple form (an array) is not supported";
      if (auto e = ShapeError(v, here); !e.empty()) return e;
    } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
      if (!v.is_array() || v.empty()) return here + ": must be a non-empty array of schemas";
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto e = ShapeError(v[i], here + "/" + std::to_string(i)); !e.empty()) return e;
      }
    } else if (k == "enum") {
      if (!v.is_array() || v.empty()) return here + ": must be a non-empty array";
    } else if (k == "const") {
    } else if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems") {
      if (!is_count(v)) return here + ": must be a non-negative integer";
    } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
      if (!v.is_number()) return here + ": must be a number";
    } else if (k == "uniqueItems") {
      if (!v.is_boolean()) return here + ": must be true or false";
    } else if (k == "pattern") {
      if (!v.is_string()) return here + ": must be a string";
    } else {
      return here + ": keyword \"" + k + "\" is not supported (see docs/artifact-types.md)";
    }
  }
  return "";
}

// Rejects schemas whose patterns cannot compile, so a bad definition fails at load time.
bool PatternsCompile(const json& s, std::string& bad) {
  if (s.is_object()) {
    for (const auto& [k, v] : s.items()) {
      if (k == "pattern" && v.is_string()) {
        if (v.get_ref<const std::string&>().size() > kMaxPatternLength) {
          bad = "pattern \"" + v.get<std::string>().substr(0, 64) + "...\" is longer than " +
                std::to_string(kMaxPatternLength) + " bytes";
          return false;
        }
        try {
          std::regex r(v.get<std::string>(), std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          bad = "pattern \"" + v.get<std::string>() + "\" is not a valid regular expression";
          return false;
        }
      } else if (!PatternsCompile(v, bad)) {
        return false;
      }
    }
  } else if (s.is_array()) {
    for (const auto& v : s) {
      if (!PatternsCompile(v, bad)) return false;
    }
  }
  return true;
}

}  // namespace

struct JsonSchema::Impl {
  json schema;
  std::string text;
};

JsonSchema::JsonSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(const JsonSchema& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
JsonSchema& JsonSchema::operator=(const JsonSchema& o) {
  impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}

Result<JsonSchema> JsonSchema::Parse(std::string_view schema_json) {
  auto impl = std::make_unique<Impl>();
  auto parsed = ParseJsonBounded(schema_json);
  if (!parsed.ok()) {
    return Status(ErrorCode::kManifestInvalid, "invalid JSON schema", parsed.status().detail());
  }
  impl->schema = std::move(*parsed);
  if (!(impl->schema.is_object() || impl->schema.is_boolean())) {
    return Status(ErrorCode::kManifestInvalid, "invalid JSON schema", "a schema is a JSON object");
  }
  if (auto e = ShapeError(impl->schema, ""); !e.empty()) {
    return Status(ErrorCode::kManifestInvalid, "invalid JSON schema", e);
  }
  std::string bad;
  if (!PatternsCompile(impl->schema, bad)) {
    return Status(ErrorCode::kManifestInvalid, "invalid JSON schema", bad);
  }
  impl->text = impl->schema.dump();
  return JsonSchema(std::move(impl));
}

Status JsonSchema::Validate(std::string_view document_json) const {
  // The checker recurses with the document as far as the schema reaches, and const/enum
  // compare whole subtrees: only a bounded document is walked.
  auto doc = ParseJsonBounded(document_json);
  if (!doc.ok()) {
    return Status(ErrorCode::kManifestInvalid, "config is not readable JSON",
                  "the config blob: " + doc.status().detail());
  }
  Checker c;
  if (c.Check(impl_->schema, *doc, "")) return Status::Ok();
  return Status(ErrorCode::kManifestInvalid, "config does not match the type's configSchema",
                c.error);
}

const std::string& JsonSchema::text() const { return impl_->text; }

}  // namespace arca
