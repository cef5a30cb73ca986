#include "common/metrics/metric_families.h"

#include "common/status.h"

namespace spindle::metrics {
namespace {

std::vector<prometheus::ClientMetric::Label> ToLabels(const Labels& labels) {
  std::vector<prometheus::ClientMetric::Label> out;
  out.reserve(labels.size());
  for (const auto& [name, value] : labels) out.push_back({name, value});
  return out;
}

}  // namespace

Families& Families::Start(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  families_.push_back(std::move(f));
  return *this;
}

Families& Families::Gauge(std::string name, std::string help) {
  return Start(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}
Families& Families::Counter(std::string name, std::string help) {
  return Start(std::move(name), std::move(help), prometheus::MetricType::Counter);
}
Families& Families::Histogram(std::string name, std::string help) {
  return Start(std::move(name), std::move(help), prometheus::MetricType::Histogram);
}

Families& Families::Add(const Labels& labels, double value) {
  SPINDLE_CHECK(!families_.empty()) << "a sample before any family";
  prometheus::MetricFamily& f = families_.back();
  prometheus::ClientMetric m;
  m.label = ToLabels(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    SPINDLE_CHECK(f.type == prometheus::MetricType::Gauge) << f.name << " takes histograms";
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return *this;
}

Families& Families::Add(const Labels& labels, const HistogramData& h) {
  SPINDLE_CHECK(!families_.empty()) << "a sample before any family";
  prometheus::MetricFamily& f = families_.back();
  SPINDLE_CHECK(f.type == prometheus::MetricType::Histogram) << f.name << " is not a histogram";
  prometheus::ClientMetric m;
  m.label = ToLabels(labels);
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    m.histogram.bucket.push_back({cumulative, h.bounds[i]});
  }
  m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
  f.metric.push_back(std::move(m));
  return *this;
}

std::vector<prometheus::MetricFamily> Families::Take() {
  std::vector<prometheus::MetricFamily> out;
  for (prometheus::MetricFamily& f : families_) {
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
  families_.clear();
  return out;
}

std::vector<prometheus::MetricFamily> FunctionCollectable::Collect() const {
  Families f;
  fill_(&f);
  return f.Take();
}

}  // namespace spindle::metrics
