#include "worker/train/liveness.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace spindle::train {

LivenessWriter::LivenessWriter(std::string path, NamedGroups groups,
                               const std::atomic<int64_t>* step, std::chrono::milliseconds period)
    : path_(std::move(path)), groups_(std::move(groups)), step_(step), period_(period) {
  if (!path_.empty()) thread_ = std::thread([this] { Loop(); });
}

LivenessWriter::~LivenessWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LivenessWriter::SetStats(std::string stats_json) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = std::move(stats_json);
}

std::string LivenessWriter::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return SnapshotLocked();
}

std::string LivenessWriter::SnapshotLocked() const {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string seq;
  for (const auto& [name, comm] : groups_) {
    if (comm == nullptr) continue;
    absl::StrAppend(&seq, seq.empty() ? "" : ", ", "\"", name, "\": ", comm->sequence());
  }
  return absl::StrCat("{\"time_ms\": ", now, ", \"step\": ", step_->load(), ", \"seq\": {", seq,
                      "}", stats_.empty() ? "" : ", \"stats\": ", stats_, "}\n");
}

void LivenessWriter::Loop() {
  const std::string tmp = path_ + ".tmp";
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    { std::ofstream(tmp, std::ios::trunc) << SnapshotLocked(); }
    std::rename(tmp.c_str(), path_.c_str());  // readers never see a partial file
    cv_.wait_for(lock, period_, [&] { return stop_; });
  }
}

}  // namespace spindle::train
