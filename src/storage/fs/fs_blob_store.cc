#include "storage/fs/fs_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "util/file_util.h"
#include "util/random_id.h"

namespace arca {
namespace {

// Serves a span of an open file; the HTTP layer sends it with sendfile.
class FileBody : public BodySource {
 public:
  FileBody(UniqueFd fd, uint64_t offset, uint64_t length)
      : fd_(std::move(fd)), offset_(offset), length_(length) {}

  Result<size_t> Read(char* buf, size_t len) override {
    if (pos_ >= length_) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, length_ - pos_));
    ssize_t n;
    do {
      n = ::pread(fd_.get(), buf, want, static_cast<off_t>(offset_ + pos_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoStatus("pread");
    if (n == 0) return Status(ErrorCode::kInternal, "storage error", "blob shorter than recorded");
    pos_ += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }
  std::optional<uint64_t> Length() const override { return length_; }
  std::optional<FileSpan> AsFile() const override {
    return FileSpan{fd_.get(), offset_, length_};
  }

 private:
  UniqueFd fd_;
  uint64_t offset_, length_, pos_ = 0;
};

Status UploadUnknown() {
  return Status(ErrorCode::kBlobUploadUnknown, "blob upload unknown", "no such upload session");
}

}  // namespace

// Appends to an upload's file. Close makes it durable; Commit gives it the blob's name.
class FsBlobStore::Writer : public UploadWriter {
 public:
  Writer(FsBlobStore& store, std::string id, UniqueFd fd, uint64_t offset)
      : store_(store), id_(std::move(id)), fd_(std::move(fd)), flushed_(offset),
        written_(offset) {}
  Status Write(const char* data, size_t len) override {
    ARCA_RETURN_IF_ERROR(WriteAll(fd_.get(), data, len));
    written_ += len;
    // Start writeback as we go, so the fsync at the end finds little left to do.
    if (written_ - flushed_ >= kWritebackStep) {
      ::sync_file_range(fd_.get(), static_cast<off_t>(flushed_),
                        static_cast<off_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
      flushed_ = written_;
    }
    return Status::Ok();
  }
  Result<UploadState> Close() override {
    if (::fdatasync(fd_.get()) != 0) return ErrnoStatus("fdatasync upload");
    UploadState state;
    state.length = written_;
    return state;
  }
  Status Commit(const Digest& digest) override {
    return store_.CommitFile(id_, fd_.get(), written_, digest);
  }

 private:
  static constexpr uint64_t kWritebackStep = 8 << 20;
  FsBlobStore& store_;
  std::string id_;
  UniqueFd fd_;
  uint64_t flushed_, written_;
};

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::Open(const std::string& root) {
  for (const char* sub : {"/blobs/sha256", "/blobs/sha512", "/uploads"}) {
    ARCA_RETURN_IF_ERROR(MakeDirs(root + sub));
  }
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(root));
}

std::string FsBlobStore::BlobDir(const Digest& digest) const {
  return root_ + "/blobs/" + std::string(AlgorithmName(digest.algorithm())) + "/" +
         digest.hex().substr(0, 2);
}

std::string FsBlobStore::BlobPath(const Digest& digest) const {
  return BlobDir(digest) + "/" + digest.hex();
}

Result<std::string> FsBlobStore::UploadPath(const std::string& id) const {
  if (!IsUuid(id)) return UploadUnknown();  // never build a path from an unchecked id
  return root_ + "/uploads/" + id;
}

Result<uint64_t> FsBlobStore::BlobSize(const Digest& digest) {
  struct stat st;
  if (::stat(BlobPath(digest).c_str(), &st) != 0) {
    if (errno == ENOENT) return Status(ErrorCode::kBlobUnknown, "blob unknown", digest.str());
    return ErrnoStatus("stat blob");
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<std::unique_ptr<BodySource>> FsBlobStore::OpenBlob(const Digest& digest, uint64_t offset,
                                                          uint64_t length) {
  UniqueFd fd(::open(BlobPath(digest).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Status(ErrorCode::kBlobUnknown, "blob unknown", digest.str());
    return ErrnoStatus("open blob");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat blob");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || length > size - offset) {
    return Status(ErrorCode::kBlobUnknown, "blob unknown",
                  "stored file has " + std::to_string(size) + " bytes, fewer than the " +
                      std::to_string(offset) + " + " + std::to_string(length) + " asked for");
  }
  return std::unique_ptr<BodySource>(new FileBody(std::move(fd), offset, length));
}

Status FsBlobStore::DeleteBlob(const Digest& digest) {
  if (::unlink(BlobPath(digest).c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink");
  return Status::Ok();
}

Result<UploadState> FsBlobStore::CreateUpload(const std::string& id) {
  auto path = UploadPath(id);
  if (!path.ok()) return path.status();
  UniqueFd fd(::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return ErrnoStatus("create upload");
  return UploadState{};
}

Result<std::unique_ptr<UploadWriter>> FsBlobStore::AppendUpload(const std::string& id,
                                                                const UploadState& at,
                                                                const std::optional<Digest>&) {
  auto path = UploadPath(id);
  if (!path.ok()) return path.status();
  UniqueFd fd(::open(path->c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return UploadUnknown();
    return ErrnoStatus("open upload");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat upload");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < at.length || !at.parts.empty()) {
    return Status(ErrorCode::kBlobUploadInvalid, "blob upload invalid",
                  "stored upload is shorter than its recorded offset");
  }
  if (size > at.length && ::ftruncate(fd.get(), static_cast<off_t>(at.length)) != 0) {
    return ErrnoStatus("truncate upload");
  }
  if (::lseek(fd.get(), static_cast<off_t>(at.length), SEEK_SET) < 0) return ErrnoStatus("lseek");
  return std::unique_ptr<UploadWriter>(new Writer(*this, id, std::move(fd), at.length));
}

Result<std::unique_ptr<ByteSource>> FsBlobStore::ReadUpload(const std::string& id,
                                                            const UploadState& state) {
  auto path = UploadPath(id);
  if (!path.ok()) return path.status();
  UniqueFd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno == ENOENT ? UploadUnknown() : ErrnoStatus("open upload");
  return std::unique_ptr<ByteSource>(new FileBody(std::move(fd), 0, state.length));
}

Status FsBlobStore::CommitFile(const std::string& id, int fd, uint64_t length,
                               const Digest& digest) {
  auto path = UploadPath(id);
  if (!path.ok()) return path.status();
  struct stat st;
  if (::stat(BlobPath(digest).c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == length) {
    return DeleteUpload(id, {});  // identical content is already stored
  }
  if (::fsync(fd) != 0) return ErrnoStatus("fsync upload");
  std::string dir = BlobDir(digest);
  bool new_dir = ::stat(dir.c_str(), &st) != 0;
  ARCA_RETURN_IF_ERROR(MakeDirs(dir));
  // A fresh fan-out folder is itself an entry in its parent, which must be durable too.
  if (new_dir) ARCA_RETURN_IF_ERROR(SyncDir(dir.substr(0, dir.rfind('/'))));
  if (::rename(path->c_str(), BlobPath(digest).c_str()) != 0) return ErrnoStatus("rename");
  // The uploads folder is not synced: if a crash brings the old name back, it is an orphan
  // upload file (the blob's own name is durable), which cleaning removes.
  return SyncDir(dir);
}

Status FsBlobStore::DeleteUpload(const std::string& id, const UploadState&) {
  auto path = UploadPath(id);
  if (!path.ok()) return path.status();
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink upload");
  return Status::Ok();
}

}  // namespace arca

// --- Listings for fsck ---------------------------------------------------------------------

namespace arca {
namespace {

namespace fs = std::filesystem;

int64_t MtimeOf(const fs::directory_entry& e) {
  struct stat st;
  return ::stat(e.path().c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

}  // namespace

Status FsBlobStore::ListBlobs(const std::function<void(const Listed&)>& fn) {
  std::error_code ec;
  fs::path top = fs::path(root_) / "blobs";
  for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (it.depth() == 0 && IsMarkerName(it->path().filename().string())) continue;
    fs::path rel = it->path().lexically_relative(top);  // <alg>/<2hex>/<hex>
    std::vector<std::string> parts(rel.begin(), rel.end());
    Listed item{"", it->path().string(), static_cast<uint64_t>(it->file_size(ec)), MtimeOf(*it)};
    if (parts.size() == 3 && parts[2].size() > 2 && parts[2].compare(0, 2, parts[1]) == 0) {
      auto d = Digest::Parse(parts[0] + ":" + parts[2]);
      if (d.ok()) item.name = d->str();
    }
    fn(item);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(ErrorCode::kInternal, "storage error", "listing blobs: " + ec.message());
  }
  return Status::Ok();
}

Status FsBlobStore::CheckWritable() {
  // A name no upload id or listing takes for its own (fsck counts a leftover as debris).
  std::string path = root_ + "/uploads/.ready-" + NewUuid();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus("creating " + path);
  Status s = WriteAll(fd.get(), "ready\n", 6);
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoStatus("fsync " + path);
  ::unlink(path.c_str());
  return s;
}

Status FsBlobStore::ListUploads(const std::function<void(const Listed&)>& fn) {
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(root_) / "uploads", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    uint64_t size = it->is_regular_file(ec) ? it->file_size(ec) : 0;
    fn(Listed{IsUuid(name) ? name : "", it->path().string(), size, MtimeOf(*it)});
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(ErrorCode::kInternal, "storage error", "listing uploads: " + ec.message());
  }
  return Status::Ok();
}

Status FsBlobStore::RemoveListed(const Listed& item) {
  // Only a regular file inside this store's blobs or uploads folder.
  fs::path p = fs::path(item.path).lexically_normal();
  std::string s = p.string();
  for (const char* top : {"/blobs/", "/uploads/"}) {
    std::string prefix = fs::path(root_).lexically_normal().string() + top;
    if (s.starts_with(prefix) && s.find("/../") == std::string::npos) {
      std::error_code ec;
      if (!fs::is_regular_file(fs::symlink_status(p, ec))) break;
      if (::unlink(s.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink");
      return Status::Ok();
    }
  }
  return Status(ErrorCode::kInternal, "refusing to remove", s + " is not a file of this store");
}

}  // namespace arca
