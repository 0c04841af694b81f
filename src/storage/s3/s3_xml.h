// Reading the small XML documents S3 answers with (listings, multipart results, errors), with
// libxml2; no network access and no entity expansion.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace arca::s3 {

// The text of the first element named name anywhere in xml; empty when there is none.
std::string XmlText(const std::string& xml, const std::string& name);
// For every element named record: its child elements' names and texts.
std::vector<std::map<std::string, std::string>> XmlRecords(const std::string& xml,
                                                           const std::string& record);

}  // namespace arca::s3
