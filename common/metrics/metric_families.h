// Building Prometheus metric families from snapshots taken at scrape time.
// Daemons report state they already keep (jobs, workers, ranks) by
// implementing prometheus::Collectable over a fresh snapshot, so a series
// disappears as soon as its job or rank does, with no bookkeeping of
// registered series.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/histogram_data.h"

namespace spindle::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Families {
 public:
  // Starts a family; samples go to the last one started.
  Families& Gauge(std::string name, std::string help);
  Families& Counter(std::string name, std::string help);
  Families& Histogram(std::string name, std::string help);

  Families& Add(const Labels& labels, double value);
  Families& Add(const Labels& labels, const HistogramData& h);

  // Families with no samples are dropped: Prometheus needs none of them and
  // promtool flags a TYPE line without samples in some versions.
  std::vector<prometheus::MetricFamily> Take();

 private:
  Families& Start(std::string name, std::string help, prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> families_;
};

// A Collectable whose Collect() calls `fill`.
class FunctionCollectable final : public prometheus::Collectable {
 public:
  explicit FunctionCollectable(std::function<void(Families*)> fill) : fill_(std::move(fill)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<void(Families*)> fill_;
};

}  // namespace spindle::metrics
