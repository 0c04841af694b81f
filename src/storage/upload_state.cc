// UploadState's parts as text for the metadata store: a JSON array of [number, size, etag].
#include <nlohmann/json.hpp>

#include "storage/blob_store.h"

namespace arca {

uint64_t UploadState::PartBytes() const {
  uint64_t n = 0;
  for (const UploadPart& p : parts) n += p.size;
  return n;
}

std::string EncodeParts(const std::vector<UploadPart>& parts) {
  if (parts.empty()) return "";
  nlohmann::json a = nlohmann::json::array();
  for (const UploadPart& p : parts) a.push_back({p.number, p.size, p.etag});
  return a.dump();
}

std::optional<std::vector<UploadPart>> DecodeParts(const std::string& text) {
  std::vector<UploadPart> out;
  if (text.empty()) return out;
  auto a = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!a.is_array()) return std::nullopt;
  for (const auto& e : a) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() ||
        !e[1].is_number_unsigned() || !e[2].is_string()) {
      return std::nullopt;
    }
    uint64_t number = e[0].get<uint64_t>();
    if (number == 0 || number > 10000) return std::nullopt;
    out.push_back(UploadPart{static_cast<uint32_t>(number), e[1].get<uint64_t>(),
                             e[2].get<std::string>()});
  }
  return out;
}

}  // namespace arca
