#include "types/svg_sanitizer.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace arca {
namespace {

constexpr std::string_view kSvgNs = "http://www.w3.org/2000/svg";
constexpr std::string_view kXlinkNs = "http://www.w3.org/1999/xlink";
constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";

// Static drawing only. Left out on purpose: script; foreignObject (HTML inside); image and
// feImage (they fetch); a (navigates); animate, set, animateMotion, animateTransform and mpath
// (they change attributes, href among them, at run time); and every element outside the SVG
// namespace (an XHTML <script> in an SVG document runs).
const std::unordered_set<std::string_view>& AllowedElements() {
  static const std::unordered_set<std::string_view> kSet = {
      "svg", "g", "defs", "symbol", "use", "switch", "title", "desc", "metadata", "style",
      "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
      "textPath", "linearGradient", "radialGradient", "stop", "pattern", "clipPath", "mask",
      "marker", "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feFuncR",
      "feFuncG", "feFuncB", "feFuncA", "feComposite", "feConvolveMatrix", "feDiffuseLighting",
      "feDisplacementMap", "feDistantLight", "feDropShadow", "feFlood", "feGaussianBlur",
      "feMerge", "feMergeNode", "feMorphology", "feOffset", "fePointLight",
      "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence"};
  return kSet;
}

// Geometry, presentation and structure. No on* event handlers (whatever their case: XML names
// are exact, and only these spellings pass), no xml:base (it would move where "#id" points).
const std::unordered_set<std::string_view>& AllowedAttributes() {
  static const std::unordered_set<std::string_view> kSet = {
      // structure
      "id", "class", "style", "transform", "viewBox", "width", "height", "version",
      "baseProfile", "preserveAspectRatio", "href", "x", "y", "x1", "y1", "x2", "y2", "cx",
      "cy", "r", "rx", "ry", "fx", "fy", "fr", "d", "points", "pathLength", "type", "media",
      "systemLanguage", "requiredExtensions", "lang", "tabindex", "role", "focusable",
      "aria-label", "aria-hidden", "aria-labelledby", "aria-describedby",
      // painting
      "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
      "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray",
      "stroke-dashoffset", "opacity", "color", "display", "visibility", "overflow",
      "clip-path", "clip-rule", "clipPathUnits", "mask", "maskUnits", "maskContentUnits",
      "mask-type", "paint-order", "vector-effect", "shape-rendering", "text-rendering",
      "image-rendering", "color-interpolation", "color-interpolation-filters",
      "mix-blend-mode", "isolation", "enable-background",
      // gradients, patterns, markers
      "gradientUnits", "gradientTransform", "spreadMethod", "offset", "stop-color",
      "stop-opacity", "patternUnits", "patternContentUnits", "patternTransform",
      "markerWidth", "markerHeight", "markerUnits", "refX", "refY", "orient", "marker-start",
      "marker-mid", "marker-end",
      // text
      "font-family", "font-size", "font-size-adjust", "font-weight", "font-style",
      "font-variant", "font-stretch", "text-anchor", "dominant-baseline",
      "alignment-baseline", "baseline-shift", "letter-spacing", "word-spacing",
      "text-decoration", "writing-mode", "direction", "unicode-bidi", "dx", "dy", "rotate",
      "textLength", "lengthAdjust", "startOffset", "method", "spacing", "side",
      // filters
      "filter", "filterUnits", "primitiveUnits", "in", "in2", "result", "stdDeviation",
      "mode", "operator", "k1", "k2", "k3", "k4", "values", "tableValues", "slope",
      "intercept", "amplitude", "exponent", "flood-color", "flood-opacity", "lighting-color",
      "radius", "scale", "xChannelSelector", "yChannelSelector", "baseFrequency",
      "numOctaves", "seed", "stitchTiles", "surfaceScale", "specularConstant",
      "specularExponent", "diffuseConstant", "kernelMatrix", "kernelUnitLength", "order",
      "divisor", "bias", "targetX", "targetY", "edgeMode", "preserveAlpha", "azimuth",
      "elevation", "z", "pointsAtX", "pointsAtY", "pointsAtZ", "limitingConeAngle"};
  return kSet;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Quote(std::string_view s) {
  std::string out(s.substr(0, 80));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return "\"" + out + (s.size() > 80 ? "...\"" : "\"");
}

// CSS (a style attribute or element, or any attribute value, which may hold url(...)): only
// references to fragments of this document. Escapes are refused because they could spell
// any of these ("u\72l(").
std::string CssProblem(std::string_view css) {
  std::string lower = Lower(css);
  if (lower.find('\\') != std::string::npos) return "a backslash (a CSS escape)";
  for (const char* bad : {"@import", "expression(", "javascript:", "vbscript:", "behavior",
                          "-moz-binding", "image-set(", "image(", "src(", "element("}) {
    if (lower.find(bad) != std::string::npos) return std::string("\"") + bad + "\"";
  }
  for (size_t p = lower.find("url("); p != std::string::npos; p = lower.find("url(", p + 4)) {
    size_t q = p + 4;
    while (q < lower.size() && (std::isspace(static_cast<unsigned char>(lower[q])) ||
                                lower[q] == '"' || lower[q] == '\'')) {
      ++q;
    }
    if (q >= lower.size() || lower[q] != '#') return "url() to anything but a #fragment";
  }
  return "";
}

// A local reference: "#id" and nothing that could be resolved elsewhere.
bool IsFragmentRef(std::string_view v) {
  if (v.size() < 2 || v[0] != '#') return false;
  return std::all_of(v.begin() + 1, v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           static_cast<unsigned char>(c) >= 0x80;
  });
}

std::string_view Str(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

std::string QualifiedName(const xmlChar* name, const xmlNs* ns) {
  std::string out;
  if (ns && ns->prefix) out = std::string(Str(ns->prefix)) + ":";
  return out + std::string(Str(name));
}

std::string Content(const xmlNode* n) {
  xmlChar* v = xmlNodeGetContent(n);
  std::string out(Str(v));
  xmlFree(v);
  return out;
}

std::string AttributeProblem(const xmlAttr* a, const std::string& element) {
  std::string name = QualifiedName(a->name, a->ns);
  std::string value = Content(reinterpret_cast<const xmlNode*>(a));
  std::string_view local = Str(a->name);
  std::string_view ns = a->ns ? Str(a->ns->href) : std::string_view();
  std::string where = "attribute " + name + " of <" + element + ">";
  bool allowed = (ns.empty() && AllowedAttributes().count(local)) ||
                 (ns == kXlinkNs && local == "href") ||
                 (ns == kXmlNs && (local == "space" || local == "lang"));
  if (!allowed) return where + " is not allowed";
  if (local == "href" && !IsFragmentRef(value)) {
    return where + ": only a #fragment of this document may be referenced, not " + Quote(value);
  }
  std::string css = CssProblem(value);
  if (!css.empty()) return where + ": " + css + " is not allowed, in " + Quote(value);
  return "";
}

std::string ElementProblem(const xmlNode* n, int depth);

std::string ChildrenProblem(const xmlNode* parent, const std::string& element, int depth) {
  bool style = element == "style";
  for (const xmlNode* c = parent->children; c; c = c->next) {
    switch (c->type) {
      case XML_ELEMENT_NODE: {
        std::string p = ElementProblem(c, depth + 1);
        if (!p.empty()) return p;
        break;
      }
      case XML_TEXT_NODE:
      case XML_COMMENT_NODE:
        break;
      case XML_CDATA_SECTION_NODE:
        // Inert in an SVG document, but an HTML page that inlines the logo parses it its own
        // way; style sheets are the one place it is commonly written.
        if (!style) return "a CDATA section in <" + element + "> is not allowed";
        break;
      case XML_PI_NODE:
        return "processing instruction <?" + std::string(Str(c->name)) + "?> is not allowed";
      case XML_ENTITY_REF_NODE:
        return "entity reference &" + std::string(Str(c->name)) + "; is not allowed";
      default:
        return "node of type " + std::to_string(static_cast<int>(c->type)) + " in <" + element +
               "> is not allowed";
    }
  }
  if (style) {
    std::string css = CssProblem(Content(parent));
    if (!css.empty()) return "<style>: " + css + " is not allowed";
  }
  return "";
}

std::string ElementProblem(const xmlNode* n, int depth) {
  std::string name = QualifiedName(n->name, n->ns);
  if (depth > kMaxSvgDepth) {
    return "elements nested deeper than " + std::to_string(kMaxSvgDepth) + " levels";
  }
  if (!n->ns || Str(n->ns->href) != kSvgNs) {
    return "element <" + name + "> is not in the SVG namespace (" + std::string(kSvgNs) + ")";
  }
  if (!AllowedElements().count(Str(n->name))) return "element <" + name + "> is not allowed";
  for (const xmlAttr* a = n->properties; a; a = a->next) {
    std::string p = AttributeProblem(a, name);
    if (!p.empty()) return p;
  }
  return ChildrenProblem(n, name, depth);
}

// A DOCTYPE is where entities and external subsets are declared: stop the parser at it,
// before any declaration inside is read.
void StopAtDoctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  *static_cast<bool*>(ctxt->_private) = true;
  xmlStopParser(ctxt);
}

struct CtxtFree {
  void operator()(xmlParserCtxtPtr c) const {
    if (c->myDoc) xmlFreeDoc(c->myDoc);
    xmlFreeParserCtxt(c);
  }
};

Status Refused(const std::string& why) {
  return Status(ErrorCode::kManifestInvalid, "SVG refused", why);
}

}  // namespace

Status CheckSvgIsInert(std::string_view svg) {
  if (svg.size() > kMaxLogoBytes) {
    return Refused("larger than " + std::to_string(kMaxLogoBytes / 1024) + " KiB");
  }
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(
      xmlCreateMemoryParserCtxt(svg.data(), static_cast<int>(svg.size())));
  if (!ctxt) return Status(ErrorCode::kInternal, "SVG parser", "cannot create a parser");
  // Not set, on purpose: XML_PARSE_NOENT (substitute entities), DTDLOAD, DTDATTR, XINCLUDE,
  // HUGE (lifts libxml2's own depth and size limits).
  xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  bool doctype = false;
  ctxt->_private = &doctype;
  ctxt->sax->internalSubset = StopAtDoctype;
  xmlParseDocument(ctxt.get());
  if (doctype) return Refused("a DOCTYPE (DTDs and entity declarations) is not allowed");
  if (!ctxt->wellFormed || !ctxt->myDoc) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string msg = e && e->message ? e->message : "parse error";
    while (!msg.empty() && std::isspace(static_cast<unsigned char>(msg.back()))) msg.pop_back();
    return Refused("not well-formed XML (line " + std::to_string(e ? e->line : 0) + "): " + msg);
  }
  const xmlNode* root = nullptr;
  for (const xmlNode* c = ctxt->myDoc->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      root = c;
    } else if (c->type == XML_PI_NODE) {
      return Refused("processing instruction <?" + std::string(Str(c->name)) + "?> is not allowed");
    } else if (c->type != XML_COMMENT_NODE) {
      return Refused("node of type " + std::to_string(static_cast<int>(c->type)) +
                     " outside the root element is not allowed");
    }
  }
  if (!root || Str(root->name) != "svg") return Refused("the root element must be <svg>");
  std::string problem = ElementProblem(root, 1);
  if (!problem.empty()) return Refused(problem);
  return Status::Ok();
}

}  // namespace arca
