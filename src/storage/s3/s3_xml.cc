#include "storage/s3/s3_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstring>
#include <functional>
#include <memory>
#include <mutex>

namespace arca::s3 {
namespace {

using Doc = std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)>;

// Parses an S3 answer; nothing for a document with a DOCTYPE (S3 sends none, and entities
// declared there would be expanded by xmlNodeGetContent).
Doc Parse(const std::string& xml) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });  // before any use from several threads
  if (xml.empty() || xml.size() > (64u << 20)) return Doc(nullptr, &xmlFreeDoc);
  Doc doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "s3.xml", nullptr,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
          &xmlFreeDoc);
  if (doc && (doc->intSubset || doc->extSubset)) doc.reset();
  return doc;
}

std::string TextOf(xmlNode* n) {
  xmlChar* t = xmlNodeGetContent(n);
  std::string out = t ? reinterpret_cast<const char*>(t) : "";
  xmlFree(t);
  return out;
}

bool Named(xmlNode* n, const std::string& name) {
  return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), name.c_str()) == 0;
}

void Walk(xmlNode* n, const std::function<bool(xmlNode*)>& fn) {
  for (; n; n = n->next) {
    if (!fn(n)) continue;
    Walk(n->children, fn);
  }
}

}  // namespace

std::string XmlText(const std::string& xml, const std::string& name) {
  Doc doc = Parse(xml);
  if (!doc) return "";
  std::string out;
  bool found = false;
  Walk(xmlDocGetRootElement(doc.get()), [&](xmlNode* n) {
    if (found) return false;
    if (Named(n, name)) {
      out = TextOf(n);
      found = true;
      return false;
    }
    return true;
  });
  return out;
}

std::vector<std::map<std::string, std::string>> XmlRecords(const std::string& xml,
                                                           const std::string& record) {
  std::vector<std::map<std::string, std::string>> out;
  Doc doc = Parse(xml);
  if (!doc) return out;
  Walk(xmlDocGetRootElement(doc.get()), [&](xmlNode* n) {
    if (!Named(n, record)) return true;
    std::map<std::string, std::string> fields;
    for (xmlNode* c = n->children; c; c = c->next) {
      if (c->type == XML_ELEMENT_NODE) fields[reinterpret_cast<const char*>(c->name)] = TextOf(c);
    }
    out.push_back(std::move(fields));
    return false;
  });
  return out;
}

}  // namespace arca::s3
