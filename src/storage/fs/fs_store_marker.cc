// FsBlobStore: the store's marker, <root>/blobs/.arca-store (storage/store_marker.h).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "storage/fs/fs_blob_store.h"
#include "storage/store_marker.h"
#include "util/file_util.h"
#include "util/random_id.h"

namespace arca {

namespace fs = std::filesystem;

bool FsBlobStore::IsMarkerName(const std::string& name) {
  return name == kMarkerName || name == std::string(kMarkerName) + ".tmp";
}

Result<std::optional<StoreIdentity>> FsBlobStore::ReadStoreMarker() {
  std::string path = root_ + "/blobs/" + kMarkerName;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<StoreIdentity>();
    return ErrnoStatus("open " + path);
  }
  std::string text;
  char buf[512];
  ssize_t n;
  while (text.size() < 4096 && (n = ::read(fd.get(), buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  auto id = ParseStoreMarker(text);
  if (!id) {
    return Status(ErrorCode::kInternal, "store marker unreadable",
                  path + " is not an arca store marker; restore it from a backup, or remove it "
                         "and start again (it is written anew from meta.db)");
  }
  return id;
}

Status FsBlobStore::WriteStoreMarker(const StoreIdentity& identity) {
  std::string dir = root_ + "/blobs";
  std::string path = dir + "/" + kMarkerName;
  std::string tmp = path + ".tmp";
  std::string text = FormatStoreMarker(identity);
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return ErrnoStatus("create " + tmp);
    ARCA_RETURN_IF_ERROR(WriteAll(fd.get(), text.data(), text.size()));
    if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename " + tmp);
  return SyncDir(dir);
}

Result<bool> FsBlobStore::HoldsBlobs() {
  std::error_code ec;
  fs::path top = fs::path(root_) / "blobs";
  for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec)) {
    if (it.depth() == 0 && IsMarkerName(it->path().filename().string())) continue;
    if (it->is_regular_file(ec)) return true;
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(ErrorCode::kInternal, "storage error", "listing blobs: " + ec.message());
  }
  return false;
}

}  // namespace arca
