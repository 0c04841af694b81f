// The metrics registry and its text exposition (metrics/metrics.h): what Prometheus parses.
#include <gtest/gtest.h>

#include <stdexcept>

#include "metrics/metrics.h"

namespace arca::metrics {
namespace {

TEST(MetricsTest, CountersGaugesAndLabelsRenderAsTheTextFormat) {
  Registry r;
  auto& c = r.CounterFamily("t_requests_total", "Requests, by route.\nSecond line", {"route"});
  c.With({"b"}).Add(2);
  c.With({"a\"q\\\n"}).Add();  // label values are escaped
  r.GaugeFamily("t_open", "Open now.").Get().Set(-3);
  r.Callback("t_read", "Read when scraped.", [] { return 1.5; });
  EXPECT_EQ(r.Render(),
            "# HELP t_requests_total Requests, by route.\\nSecond line\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{route=\"a\\\"q\\\\\\n\"} 1\n"
            "t_requests_total{route=\"b\"} 2\n"
            "# HELP t_open Open now.\n"
            "# TYPE t_open gauge\n"
            "t_open -3\n"
            "# HELP t_read Read when scraped.\n"
            "# TYPE t_read gauge\n"
            "t_read 1.5\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  auto& h = r.HistogramFamily("t_seconds", "Latency.", {"m"}, {0.25, 0.5, 1});
  for (double v : {0.125, 0.25, 0.5, 4.0, 8.0}) h.With({"GET"}).Observe(v);  // exact in binary
  EXPECT_EQ(r.Render(),
            "# HELP t_seconds Latency.\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{m=\"GET\",le=\"0.25\"} 2\n"
            "t_seconds_bucket{m=\"GET\",le=\"0.5\"} 3\n"
            "t_seconds_bucket{m=\"GET\",le=\"1\"} 3\n"
            "t_seconds_bucket{m=\"GET\",le=\"+Inf\"} 5\n"
            "t_seconds_sum{m=\"GET\"} 12.875\n"
            "t_seconds_count{m=\"GET\"} 5\n");
}

TEST(MetricsTest, AFamilyIsBoundedInSeries) {
  Registry r;
  auto& c = r.CounterFamily("t_total", "Bounded.", {"k"});
  for (size_t i = 0; i < Family<Counter>::kMaxSeries + 50; ++i) c.With({std::to_string(i)}).Add();
  auto series = c.Series();
  EXPECT_EQ(series.size(), Family<Counter>::kMaxSeries + 1);  // the last one: "other"
  uint64_t other = 0;
  for (const auto& [labels, counter] : series) {
    if (labels == std::vector<std::string>{"other"}) other = counter->value();
  }
  EXPECT_EQ(other, 50u);
}

TEST(MetricsTest, OneNameCannotBeTwoKinds) {
  Registry r;
  r.CounterFamily("t_total", "A counter.");
  EXPECT_THROW(r.GaugeFamily("t_total", "A gauge."), std::logic_error);
  EXPECT_THROW(r.Callback("t_total", "Read.", [] { return 1.0; }), std::logic_error);
  EXPECT_EQ(r.Render().find("# TYPE t_total gauge"), std::string::npos);
}

TEST(MetricsTest, TheSameNameIsTheSameFamily) {
  Registry r;
  r.CounterFamily("t_total", "One.", {"k"}).With({"x"}).Add();
  r.CounterFamily("t_total", "One.", {"k"}).With({"x"}).Add();
  EXPECT_EQ(r.CounterFamily("t_total", "One.", {"k"}).With({"x"}).value(), 2u);
}

}  // namespace
}  // namespace arca::metrics
