// Metrics in the Prometheus text exposition format (version 0.0.4), for GET /metrics
// (docs/operations.md): counters, gauges and histograms, each a family of series told apart by
// label values. One registry per process (Default()); recording is a lock-free atomic add once
// a series exists, and finding a series is one mutex-guarded hash lookup. Label values come
// from the registry's own vocabulary (route classes, methods, known artifact types), never from
// raw client input, and each family is capped in series (beyond, values land in one series
// whose labels all read "other").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace arca::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), then the +Inf bucket.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

enum class Kind { kCounter, kGauge, kHistogram };

// The series of one metric name, by label values (in the order of the family's label names).
template <typename M>
class Family {
 public:
  Family(std::vector<std::string> labels, std::vector<double> bounds = {})
      : labels_(std::move(labels)), bounds_(std::move(bounds)) {}
  M& With(std::initializer_list<std::string_view> values);
  M& Get() { return With({}); }
  const std::vector<std::string>& labels() const { return labels_; }
  // Each series' label values and metric, sorted by label values.
  std::vector<std::pair<std::vector<std::string>, const M*>> Series() const;

  static constexpr size_t kMaxSeries = 2000;

 private:
  M* Make();
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<M>> by_key_;  // GUARDED_BY(mu_)
  std::map<std::vector<std::string>, M*> sorted_;               // GUARDED_BY(mu_)
};

class Registry {
 public:
  Family<Counter>& CounterFamily(const std::string& name, const std::string& help,
                                 std::vector<std::string> labels = {});
  Family<Gauge>& GaugeFamily(const std::string& name, const std::string& help,
                             std::vector<std::string> labels = {});
  Family<Histogram>& HistogramFamily(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels, std::vector<double> bounds);
  // A gauge (or, with counter, a counter) read when scraped, for values kept elsewhere.
  void Callback(const std::string& name, const std::string& help, std::function<double()> read,
                bool counter = false);
  // Every family, in the order registered, as the text exposition format.
  std::string Render() const;

 private:
  struct Entry {
    std::string name, help;
    Kind kind;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
    std::function<double()> read;
    bool read_counter = false;
  };
  Entry* Find(const std::string& name);  // REQUIRES(mu_)
  template <typename M>
  Family<M>& Registered(const std::string& name, const std::string& help, Kind kind,
                        std::unique_ptr<Family<M>> Entry::*member,
                        std::vector<std::string> labels, std::vector<double> bounds);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // GUARDED_BY(mu_)
};

// The process's registry.
Registry& Default();

// Latency buckets in seconds, 0.5 ms to 30 s.
const std::vector<double>& LatencyBuckets();

}  // namespace arca::metrics
