// arca types import | arca policy import|show|clear: what every process on the store shares,
// written into the metadata from files (the import path of docs/deploy.md "Artifact types and
// the policy"). Safe beside running servers: each write is one transaction, and replicas see
// it within a second.
#include <cstdio>

#include "cli/commands.h"
#include "meta/postgres/pg_meta_store.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "registry/policy.h"
#include "types/artifact_type.h"
#include "util/file_util.h"

namespace arca {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;  // as the API's bodies


// The metadata store the settings name, as it is (never created, never migrated here).
Result<std::unique_ptr<MetaStore>> OpenMeta(const Config& config) {
  if (!config.metadata.empty()) {
    PgMetaStore::Options o;
    o.url = config.metadata;
    o.migrate = false;
    auto pg = PgMetaStore::Open(o);
    if (!pg.ok()) return pg.status();
    return std::unique_ptr<MetaStore>(std::move(*pg));
  }
  SqliteMetaStore::Options o;
  o.create = false;
  o.migrate = false;
  auto meta = SqliteMetaStore::Open(config.root + "/meta.db", o);
  if (!meta.ok()) return meta.status();
  return std::unique_ptr<MetaStore>(std::move(*meta));
}

int Usage() {
  std::fprintf(stderr,
               "usage: arca types import FILE.json ...   (metadata in PostgreSQL)\n"
               "       arca policy import FILE.yaml | show | clear\n"
               "       [--config FILE] [--root DIR] [--metadata URL]\n");
  return 2;
}

// Each definition, with the SVG its logo names read from beside it, checked as the API
// checks a PUT; all are checked before any is stored (each is then stored on its own: a
// database failure part-way leaves those before it stored, and the command can run again).
int ImportTypes(const std::vector<std::string>& files, MetaStore& meta) {
  std::vector<MetaStore::TypeDefinitionRecord> records;
  for (const std::string& file : files) {
    auto text = ReadSmallFile(file, kMaxFileBytes);
    if (!text.ok()) return Fail(text.status());
    std::string dir = file.find('/') == std::string::npos ? "." : file.substr(0, file.rfind('/'));
    auto t = ParseArtifactType(*text, file, [&](const std::string& logo) {
      return ReadSmallFile(dir + "/" + logo, kMaxFileBytes);
    });
    if (!t.ok()) return Fail(t.status());
    records.push_back({t->media_type, *text, t->logo_svg, 0});
  }
  for (const auto& r : records) {
    auto added = meta.PutTypeDefinition(r);
    if (!added.ok()) return Fail(added.status());
    std::printf("%s %s\n", *added ? "added" : "replaced", r.id.c_str());
  }
  return 0;
}

}  // namespace

int SettingsCommand(const std::string& what, const std::vector<std::string>& in) {
  std::vector<std::string> words, args;
  // The verb and files, and settings flags anywhere among them, each with its value.
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == "--help" || in[i] == "-h" || in[i] == "help") {
      Usage();
      return 0;
    }
    if (!in[i].starts_with("--")) {
      words.push_back(in[i]);
      continue;
    }
    args.push_back(in[i]);
    if (in[i].find('=') == std::string::npos && i + 1 < in.size()) args.push_back(in[++i]);
  }
  if (words.empty()) return Usage();
  auto config = LoadConfig(args);
  if (!config.ok()) return Fail(config.status());
  const std::string verb = words[0];
  std::vector<std::string> files(words.begin() + 1, words.end());
  if (what == "types") {
    if (verb != "import" || files.empty()) return Usage();
    if (config->metadata.empty()) {
      return Fail(Status(ErrorCode::kUnsupported, "types are shared through PostgreSQL only",
                         "with the metadata in SQLite, one process serves the store: put the "
                         "definitions in its types_dir (or PUT them to /arca/v1/types)"));
    }
  } else if (!((verb == "import" && files.size() == 1) ||
               ((verb == "show" || verb == "clear") && files.empty()))) {
    return Usage();
  }
  auto meta = OpenMeta(*config);
  if (!meta.ok()) return Fail(meta.status());
  if (what == "types") return ImportTypes(files, **meta);
  if (verb == "show") {
    auto stored = (*meta)->GetSetting("policy");
    if (!stored.ok()) return Fail(stored.status());
    if (!*stored) {
      std::fprintf(stderr, "arca: no stored policy; each process applies its policy_file\n");
      return 1;
    }
    std::fputs((*stored)->c_str(), stdout);
    return 0;
  }
  if (verb == "clear") {
    Status s = (*meta)->PutSetting("policy", std::nullopt);
    return s.ok() ? 0 : Fail(s);
  }
  auto text = ReadSmallFile(files[0], kMaxFileBytes);
  if (!text.ok()) return Fail(text.status());
  auto parsed = Policy::Parse(*text);
  if (!parsed.ok()) {
    return Fail(Status(parsed.status().code(), parsed.status().message(),
                       files[0] + ": " + parsed.status().detail()));
  }
  Status s = (*meta)->PutSetting("policy", *text);
  if (!s.ok()) return Fail(s);
  std::printf("stored the policy of %s (%zu rules)\n", files[0].c_str(), parsed->rules().size());
  return 0;
}

}  // namespace arca
