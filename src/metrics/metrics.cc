#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace arca::metrics {

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

template <typename M>
M* Family<M>::Make() {
  if constexpr (std::is_same_v<M, Histogram>) {
    return new Histogram(bounds_);
  } else {
    return new M();
  }
}

template <typename M>
M& Family<M>::With(std::initializer_list<std::string_view> values) {
  std::string key;
  for (std::string_view v : values) {
    key.append(v);
    key.push_back('\xff');
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return *it->second;
  std::vector<std::string> labels(values.begin(), values.end());
  labels.resize(labels_.size());
  if (by_key_.size() >= kMaxSeries) {  // a bound on memory whatever the values
    key = "\xff";
    labels.assign(labels_.size(), "other");
    it = by_key_.find(key);
    if (it != by_key_.end()) return *it->second;
  }
  M* made = Make();
  by_key_.emplace(key, std::unique_ptr<M>(made));
  sorted_[labels] = made;
  return *made;
}

template <typename M>
std::vector<std::pair<std::vector<std::string>, const M*>> Family<M>::Series() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {sorted_.begin(), sorted_.end()};
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

std::string Escape(std::string_view v, bool help) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && !help) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {  // the shortest that reads back
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + Escape(values[i], false) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

Registry::Entry* Registry::Find(const std::string& name) {
  for (auto& e : entries_) {
    if (e->name == name) return e.get();
  }
  return nullptr;
}

template <typename M>
Family<M>& Registry::Registered(const std::string& name, const std::string& help, Kind kind,
                                std::unique_ptr<Family<M>> Entry::*member,
                                std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    // One name, one family: a second kind under it would make Prometheus refuse the scrape.
    if (!(e->*member)) throw std::logic_error("metric " + name + " registered as two kinds");
    return *(e->*member);
  }
  auto made = std::make_unique<Entry>();
  made->name = name, made->help = help, made->kind = kind;
  (*made).*member = std::make_unique<Family<M>>(std::move(labels), std::move(bounds));
  entries_.push_back(std::move(made));
  return *((*entries_.back()).*member);
}

Family<Counter>& Registry::CounterFamily(const std::string& name, const std::string& help,
                                         std::vector<std::string> labels) {
  return Registered(name, help, Kind::kCounter, &Entry::counters, std::move(labels), {});
}

Family<Gauge>& Registry::GaugeFamily(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels) {
  return Registered(name, help, Kind::kGauge, &Entry::gauges, std::move(labels), {});
}

Family<Histogram>& Registry::HistogramFamily(const std::string& name, const std::string& help,
                                             std::vector<std::string> labels,
                                             std::vector<double> bounds) {
  return Registered(name, help, Kind::kHistogram, &Entry::histograms, std::move(labels),
                    std::move(bounds));
}

void Registry::Callback(const std::string& name, const std::string& help,
                        std::function<double()> read, bool counter) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {  // a later owner (a new server in the same process) takes over
    if (!e->read) throw std::logic_error("metric " + name + " registered as two kinds");
    e->read = std::move(read);
    return;
  }
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->kind = counter ? Kind::kCounter : Kind::kGauge;
  e->read = std::move(read);
  e->read_counter = counter;
  entries_.push_back(std::move(e));
}

std::string Registry::Render() const {
  std::vector<const Entry*> entries;
  std::vector<std::function<double()>> reads;  // copied under the lock: Callback may replace
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : entries_) {
      entries.push_back(e.get());
      reads.push_back(e->read);
    }
  }
  std::string out;
  out.reserve(16384);
  for (size_t n = 0; n < entries.size(); ++n) {
    const Entry* e = entries[n];
    const char* type = e->kind == Kind::kCounter ? "counter"
                       : e->kind == Kind::kGauge ? "gauge"
                                                 : "histogram";
    out += "# HELP " + e->name + " " + Escape(e->help, true) + "\n";
    out += "# TYPE " + e->name + " " + type + "\n";
    if (reads[n]) {
      out += e->name + " " + Number(reads[n]()) + "\n";
    } else if (e->counters) {
      for (const auto& [values, c] : e->counters->Series()) {
        out += e->name + Labels(e->counters->labels(), values) + " " +
               std::to_string(c->value()) + "\n";
      }
    } else if (e->gauges) {
      for (const auto& [values, g] : e->gauges->Series()) {
        out += e->name + Labels(e->gauges->labels(), values) + " " +
               std::to_string(g->value()) + "\n";
      }
    } else if (e->histograms) {
      const auto& names = e->histograms->labels();
      for (const auto& [values, h] : e->histograms->Series()) {
        auto counts = h->counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          std::string le = i < h->bounds().size() ? Number(h->bounds()[i]) : "+Inf";
          out += e->name + "_bucket" + Labels(names, values, "le=\"" + le + "\"") + " " +
                 std::to_string(cumulative) + "\n";
        }
        out += e->name + "_sum" + Labels(names, values) + " " + Number(h->sum()) + "\n";
        out += e->name + "_count" + Labels(names, values) + " " + std::to_string(cumulative) +
               "\n";
      }
    }
  }
  return out;
}

Registry& Default() {
  static Registry* registry = new Registry();  // never destroyed: threads may record at exit
  return *registry;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10, 30};
  return kBuckets;
}

}  // namespace arca::metrics
