#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstring>

#include "util/file_stamp.h"

namespace arca::http {
namespace {

// Mozilla's "intermediate" suites for TLS 1.2: ECDHE and AEAD only. TLS 1.3's are all fine.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

// Picks http/1.1 when the client offers it; a client offering only h2 gets no ALPN answer.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string TimeText(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "?";
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n > 0 ? n : 0));
  BIO_free(bio);
  return out;
}

// A new server context with the pair, or an error naming what failed.
Result<SSL_CTX*> NewContext(const std::string& cert_file, const std::string& key_file,
                            std::string* description) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status(ErrorCode::kInternal, "TLS unavailable", OpenSslError());
  auto fail = [&](const std::string& what, const std::string& file) -> Status {
    std::string why = OpenSslError();
    SSL_CTX_free(ctx);
    return Status(ErrorCode::kInternal, what, file + ": " + why);
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes suit the non-blocking loop; released buffers keep idle connections small
  // (about 34 KiB each otherwise).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return fail("TLS setup failed", "ciphers");
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return fail("cannot load the TLS certificate", cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot load the TLS key", key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("the TLS key does not match the certificate", key_file);
  }
  if (X509* cert = SSL_CTX_get0_certificate(ctx)) {
    char subject[256] = "?";
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    *description = std::string(subject) + ", valid until " + TimeText(X509_get0_notAfter(cert));
  }
  return ctx;
}

class TlsTransport : public Transport {
 public:
  TlsTransport(int fd, SSL* ssl) : Transport(fd), ssl_(ssl) {}
  ~TlsTransport() override { SSL_free(ssl_); }

  bool secure() const override { return true; }

  Step Handshake() override {
    ERR_clear_error();
    int r = SSL_accept(ssl_);
    if (r == 1) {
      established_ = true;
      return {Io::kDone};
    }
    return Failed(r, /*reading=*/true);
  }

  Step Read(char* buf, size_t len) override {
    if (broken_) return {Io::kError};
    ERR_clear_error();
    int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, 1u << 30)));
    if (r > 0) return {Io::kDone, static_cast<size_t>(r)};
    return Failed(r, /*reading=*/true);
  }

  Step Write(const char* data, size_t len) override {
    if (broken_) return {Io::kError};
    if (len == 0) return {Io::kDone};
    int n = static_cast<int>(std::min<size_t>(len, 1u << 30));
    if (pending_ && (data != pending_data_ || n != pending_len_)) {
      // A write left waiting was given up (a client too slow for "100 Continue", say):
      // OpenSSL holds part of it and would take the first bytes of these as the rest. The
      // stream is beyond repair.
      broken_ = true;
      return {Io::kError};
    }
    ERR_clear_error();
    int r = SSL_write(ssl_, data, n);
    if (r > 0) {
      pending_ = false;
      return {Io::kDone, static_cast<size_t>(r)};
    }
    Step step = Failed(r, /*reading=*/false);
    pending_ = step.io == Io::kWantRead || step.io == Io::kWantWrite;
    pending_data_ = data;
    pending_len_ = n;
    return step;
  }

  bool Buffered() const override { return !broken_ && SSL_pending(ssl_) > 0; }

  void Close() override {
    if (!established_ || broken_ || closed_) return;
    closed_ = true;
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // sends close_notify if the socket takes it; never waits
    ERR_clear_error();
  }

 private:
  Step Failed(int r, bool reading) {
    switch (SSL_get_error(ssl_, r)) {
      case SSL_ERROR_WANT_READ: return {Io::kWantRead};
      case SSL_ERROR_WANT_WRITE: return {Io::kWantWrite};
      case SSL_ERROR_ZERO_RETURN:  // close_notify (or, with IGNORE_UNEXPECTED_EOF, a bare
        // EOF): Close still answers with ours, as the peer may wait for it.
        if (reading) return {Io::kEof};
        break;
      default: break;
    }
    // After SSL_ERROR_SYSCALL or SSL_ERROR_SSL, OpenSSL forbids even SSL_shutdown.
    broken_ = true;
    ERR_clear_error();
    return {Io::kError};
  }

  SSL* ssl_;
  // A write that wanted the socket: OpenSSL requires the next write to repeat it.
  bool pending_ = false;
  const char* pending_data_ = nullptr;
  int pending_len_ = 0;
  bool established_ = false;
  bool broken_ = false;
  bool closed_ = false;
};

}  // namespace

TlsContext::TlsContext(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

TlsContext::~TlsContext() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (ctx_) SSL_CTX_free(ctx_);
}

std::string TlsContext::Stamp() const { return FileStamp({cert_file_, key_file_}); }

Status TlsContext::Load() {
  std::string stamp = Stamp();
  std::string description;
  auto ctx = NewContext(cert_file_, key_file_, &description);
  std::lock_guard<std::mutex> lock(mu_);
  loaded_stamp_ = stamp;
  if (!ctx.ok()) return ctx.status();
  if (ctx_) SSL_CTX_free(ctx_);
  ctx_ = *ctx;
  description_ = description;
  return Status::Ok();
}

bool TlsContext::ReloadIfChanged() {
  std::string stamp = Stamp();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stamp == loaded_stamp_) return false;
  }
  Status s = Load();
  if (!s.ok()) {
    std::fprintf(stderr, "arca: new TLS files not used, the old certificate stays: %s (%s)\n",
                 s.message().c_str(), s.detail().c_str());
    return false;
  }
  std::fprintf(stderr, "arca: TLS certificate reloaded: %s\n", Describe().c_str());
  return true;
}

void TlsContext::Watch(int interval_ms) {
  watcher_ = std::thread([this, interval_ms] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms),
                               [this] { return stop_; })) {
      lock.unlock();
      ReloadIfChanged();
      lock.lock();
    }
  });
}

std::string TlsContext::Describe() const {
  std::lock_guard<std::mutex> lock(mu_);
  return description_;
}

std::unique_ptr<Transport> TlsContext::Accept(int fd) {
  SSL* ssl;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ctx_) return nullptr;
    ssl = SSL_new(ctx_);  // holds its own reference to the context
  }
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {  // a socket BIO that leaves the fd open on free
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  try {
    return std::make_unique<TlsTransport>(fd, ssl);
  } catch (const std::bad_alloc&) {
    SSL_free(ssl);
    return nullptr;
  }
}

}  // namespace arca::http
