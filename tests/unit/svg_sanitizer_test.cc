#include "types/svg_sanitizer.h"

#include <gtest/gtest.h>

#include <string>

#include "registry/type_catalog.h"

namespace arca {
namespace {

const std::string kOpen = "<svg xmlns=\"http://www.w3.org/2000/svg\"";
const std::string kOpenXlink =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"";

TEST(SvgSanitizerTest, EveryBuiltinLogoPasses) {
  int logos = 0;
  for (const EmbeddedFile& f : BuiltinTypeFiles()) {
    if (!std::string(f.name).ends_with(".svg")) continue;
    ++logos;
    Status s = CheckSvgIsInert(f.content);
    EXPECT_TRUE(s.ok()) << f.name << ": " << s.detail();
  }
  EXPECT_GE(logos, 14);
}

TEST(SvgSanitizerTest, InertDrawingPasses) {
  for (const std::string& svg : std::initializer_list<std::string>{
           kOpen + "/>",
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a logo -->\n" + kOpen +
               " viewBox=\"0 0 16 16\"><title>Logo</title><desc>d</desc>"
               "<circle cx=\"8\" cy=\"8\" r=\"7\" fill=\"#3366cc\"/></svg>",
           kOpenXlink +
               "><defs><linearGradient id=\"g\"><stop offset=\"0\" stop-color=\"red\"/>"
               "</linearGradient><clipPath id=\"c\"><rect width=\"4\" height=\"4\"/></clipPath>"
               "<symbol id=\"s\"><path d=\"M0 0L1 1z\"/></symbol></defs>"
               "<g clip-path=\"url(#c)\" style=\"fill: url('#g'); stroke: none\">"
               "<use xlink:href=\"#s\"/><use href=\"#s\" x=\"2\"/></g>"
               "<text x=\"1\" y=\"2\" font-family=\"Helvetica\">A &amp; B &#x263A;</text>"
               "<style>rect { fill: url(#g) }</style><style><![CDATA[ g > rect { opacity: .5 } ]]>"
               "</style></svg>",
           "<svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\"><svg:rect width=\"1\" "
           "height=\"1\" xml:space=\"preserve\"/></svg:svg>",
       }) {
    Status s = CheckSvgIsInert(svg);
    EXPECT_TRUE(s.ok()) << svg << "\n-> " << s.detail();
  }
}

struct Hostile {
  const char* what;
  std::string svg;
  const char* named;  // a piece of the refusal's detail
};

TEST(SvgSanitizerTest, HostileCorpusIsRefusedNamingWhat) {
  const Hostile corpus[] = {
      {"onload without a space", "<svg/onload=alert(1)>", "well-formed"},
      {"onload on the root", kOpen + " onload=\"alert(1)\"/>", "onload"},
      {"uppercase ONLOAD", kOpen + " ONLOAD=\"alert(1)\"/>", "ONLOAD"},
      {"handler after a newline", kOpen + "><rect\nonclick=\"alert(1)\"/></svg>", "onclick"},
      {"handler after a tab", kOpen + "><rect\tonmouseover='x()'/></svg>", "onmouseover"},
      {"script", kOpen + "><script>alert(1)</script></svg>", "<script>"},
      {"script in CDATA", kOpen + "><script><![CDATA[alert(1)]]></script></svg>", "<script>"},
      {"XHTML script", kOpen + "><h:script xmlns:h=\"http://www.w3.org/1999/xhtml\">alert(1)"
                               "</h:script></svg>", "h:script"},
      {"default namespace switched to XHTML",
       kOpen + "><g xmlns=\"http://www.w3.org/1999/xhtml\"><script>x()</script></g></svg>",
       "SVG namespace"},
      {"no SVG namespace", "<svg><rect/></svg>", "SVG namespace"},
      {"protocol-relative xlink:href",
       kOpenXlink + "><use xlink:href=\"//evil.example/x.svg#a\"/></svg>", "xlink:href"},
      {"http use href", kOpen + "><use href=\"http://evil.example/x.svg#a\"/></svg>", "href"},
      {"javascript href", kOpen + "><a href=\"javascript:alert(1)\"><rect/></a></svg>", "<a>"},
      {"javascript href on use", kOpen + "><use href=\"javascript:alert(1)\"/></svg>", "href"},
      {"href with whitespace before #", kOpen + "><use href=\" #a\"/></svg>", "href"},
      {"foreignObject", kOpen + "><foreignObject><div xmlns=\"http://www.w3.org/1999/xhtml\">"
                               "x</div></foreignObject></svg>", "foreignObject"},
      {"image with an external ref", kOpen + "><image href=\"https://evil.example/a.png\"/></svg>",
       "<image>"},
      {"feImage", kOpen + "><filter id=\"f\"><feImage href=\"#x\"/></filter></svg>", "feImage"},
      {"animate setting href", kOpen + "><use href=\"#a\"><set attributeName=\"href\" "
                                       "to=\"javascript:alert(1)\"/></use></svg>", "<set>"},
      {"animate element",
       kOpen + "><animate attributeName=\"href\" values=\"javascript:x\"/></svg>", "<animate>"},
      {"billion laughs",
       "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\">"
       "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
       "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
       "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>" +
           kOpen + "><text>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</text></svg>",
       "DOCTYPE"},
      {"external entity", "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "
                          "\"file:///etc/passwd\">]>" + kOpen + "><text>&xxe;</text></svg>",
       "DOCTYPE"},
      {"external DTD", "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
                       "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">" + kOpen + "/>",
       "DOCTYPE"},
      {"undeclared entity", kOpen + "><text>&xxe;</text></svg>", "well-formed"},
      {"style with external url",
       kOpen + "><rect style=\"fill: url(http://evil.example/a)\"/></svg>", "url()"},
      {"style with quoted external url",
       kOpen + "><rect style=\"fill:url( 'https://evil.example/a#g')\"/></svg>", "url()"},
      {"presentation attribute with external url",
       kOpen + "><rect fill=\"url(//evil.example/p.svg#g)\"/></svg>", "url()"},
      {"style expression", kOpen + "><rect style=\"width: expression(alert(1))\"/></svg>",
       "expression("},
      {"style javascript", kOpen + "><rect style=\"background: javascript:alert(1)\"/></svg>",
       "javascript:"},
      {"CSS escape", kOpen + "><rect style=\"fill: u\\72l(http://evil.example/)\"/></svg>",
       "backslash"},
      {"style element import",
       kOpen + "><style>@import 'https://evil.example/x.css';</style></svg>", "@import"},
      {"style element import in CDATA",
       kOpen + "><style><![CDATA[@import url(https://evil.example/x.css);]]></style></svg>",
       "@import"},
      {"style element image-set",
       kOpen + "><style>rect { fill: image-set(\"https://evil.example/a.png\" 1x) }</style></svg>",
       "image-set("},
      {"CDATA outside style", kOpen + "><text><![CDATA[</text><script>alert(1)</script>]]>"
                                      "</text></svg>", "CDATA"},
      {"processing instruction",
       "<?xml-stylesheet href=\"https://evil.example/x.css\"?>" + kOpen + "/>", "xml-stylesheet"},
      {"xml:base", kOpen + " xml:base=\"https://evil.example/\"><use href=\"#a\"/></svg>",
       "xml:base"},
      {"foreign namespaced attribute",
       kOpen + " xmlns:ev=\"http://www.w3.org/2001/xml-events\" ev:event=\"load\"/>", "ev:event"},
      {"xlink namespace attribute other than href",
       kOpenXlink + "><use xlink:href=\"#a\" xlink:show=\"new\"/></svg>", "xlink:show"},
      {"root not svg", "<html xmlns=\"http://www.w3.org/2000/svg\"/>", "root"},
      {"not XML", "<svg", "well-formed"},
      {"too deep", kOpen + ">" + [] {
                     std::string s;
                     for (int i = 0; i < kMaxSvgDepth + 1; ++i) s += "<g>";
                     for (int i = 0; i < kMaxSvgDepth + 1; ++i) s += "</g>";
                     return s;
                   }() + "</svg>",
       "deeper"},
      {"too big", kOpen + ">" + std::string(kMaxLogoBytes, ' ') + "</svg>", "KiB"},
  };
  for (const Hostile& h : corpus) {
    Status s = CheckSvgIsInert(h.svg);
    EXPECT_FALSE(s.ok()) << h.what;
    if (s.ok()) continue;
    EXPECT_EQ(s.code(), ErrorCode::kManifestInvalid) << h.what;
    EXPECT_NE(s.detail().find(h.named), std::string::npos)
        << h.what << ": detail \"" << s.detail() << "\" should name " << h.named;
  }
}

TEST(SvgSanitizerTest, BillionLaughsIsRefusedWithoutExpanding) {
  // Ten levels of ten: 10^10 bytes if expanded. Refused at the DOCTYPE, before any of it.
  std::string doc = "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY l0 \"lol\">";
  for (int i = 1; i <= 10; ++i) {
    doc += "<!ENTITY l" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) doc += "&l" + std::to_string(i - 1) + ";";
    doc += "\">";
  }
  doc += "]>" + kOpen + "><text>&l10;</text></svg>";
  Status s = CheckSvgIsInert(doc);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.detail().find("DOCTYPE"), std::string::npos) << s.detail();
}

}  // namespace
}  // namespace arca
