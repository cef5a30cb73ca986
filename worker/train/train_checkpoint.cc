#include "worker/train/train_checkpoint.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/commit.h"
#include "common/formats/file_io.h"
#include "common/status.h"
#include "worker/model/hf_weights.h"
#include "worker/model/tensor_file.h"

namespace spindle::train {
namespace {

constexpr char kModelFile[] = "model.safetensors";
constexpr char kOptimizerFile[] = "optimizer.safetensors";
constexpr char kStateFile[] = "trainer_state.json";
constexpr char kConfigFile[] = "config.json";

std::string StateJson(const TrainerState& s) {
  nlohmann::ordered_json j;
  j["format"] = "spindle-trainer-state/1";
  j["step"] = s.step;
  j["optimizer_steps"] = s.optimizer_steps;
  j["data_cursor"] = s.data_cursor;
  j["global_batch_seqs"] = s.global_batch_seqs;
  j["seq_len"] = s.seq_len;
  j["init_seed"] = s.init_seed;
  j["data_seed"] = s.data_seed;
  return j.dump(2) + "\n";
}

absl::StatusOr<TrainerState> ParseState(const std::string& path) {
  SPINDLE_ASSIGN_OR_RETURN(std::string text, formats::ReadFileToString(path, 1 << 20));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  TrainerState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.optimizer_steps = j.at("optimizer_steps").get<int64_t>();
    s.data_cursor = j.at("data_cursor").get<int64_t>();
    s.global_batch_seqs = j.at("global_batch_seqs").get<int64_t>();
    s.seq_len = j.at("seq_len").get<int64_t>();
    s.init_seed = j.at("init_seed").get<uint64_t>();
    s.data_seed = j.at("data_seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": not a Spindle trainer state: ", e.what()));
  }
  return s;
}

}  // namespace

absl::StatusOr<std::string> SaveCheckpoint(Trainer& trainer, const std::string& root,
                                           uint64_t data_seed, int keep_last) {
  const TrainerOptions& o = trainer.options();
  comm::Communicator& world = *trainer.groups().world;
  const std::string dir = formats::JoinPath(root, checkpoint::StepDirName(trainer.step()));
  // Every rank contributes its share of the optimizer state (collective).
  SPINDLE_ASSIGN_OR_RETURN(model::NamedTensors moments, trainer.optimizer().GatherMoments());
  SPINDLE_ASSIGN_OR_RETURN(model::NamedTensors weights, trainer.optimizer().GatherWeights());
  // Rank 0 writes; the others wait so that no rank runs ahead into a step
  // whose checkpoint could still fail, and learn whether it committed.
  int64_t ok = 1;
  absl::Status status;
  if (world.rank() == 0) {
    status = [&]() -> absl::Status {
      SPINDLE_ASSIGN_OR_RETURN(checkpoint::PendingCheckpoint pending,
                               checkpoint::BeginCheckpoint(root, trainer.step()));
      TrainerState s;
      s.step = trainer.step();
      s.optimizer_steps = trainer.optimizer().steps();
      s.data_cursor = trainer.step() * o.global_batch_seqs;
      s.global_batch_seqs = o.global_batch_seqs;
      s.seq_len = o.seq_len;
      s.init_seed = o.init_seed;
      s.data_seed = data_seed;
      const std::string tmp = pending.dir();
      SPINDLE_RETURN_IF_ERROR(model::WriteTensorFile(formats::JoinPath(tmp, kModelFile), weights));
      SPINDLE_RETURN_IF_ERROR(
          model::WriteTensorFile(formats::JoinPath(tmp, kOptimizerFile), moments));
      SPINDLE_RETURN_IF_ERROR(formats::WriteFileAtomically(formats::JoinPath(tmp, kConfigFile),
                                                           model::ToHfConfigJson(o.model) + "\n"));
      SPINDLE_RETURN_IF_ERROR(
          formats::WriteFileAtomically(formats::JoinPath(tmp, kStateFile), StateJson(s)));
      SPINDLE_RETURN_IF_ERROR(pending.Commit());
      return checkpoint::PruneCheckpoints(root, keep_last);
    }();
    ok = status.ok() ? 1 : 0;
  }
  SPINDLE_RETURN_IF_ERROR(world.Broadcast(&ok, sizeof(ok), 0));
  if (!status.ok()) return status;
  if (ok == 0) {
    return absl::InternalError(
        absl::StrCat("rank 0 failed to write checkpoint ", dir, "; see its log"));
  }
  return dir;
}

absl::StatusOr<TrainerState> LoadCheckpoint(Trainer& trainer, const std::string& dir) {
  SPINDLE_RETURN_IF_ERROR(checkpoint::VerifyCheckpoint(dir));
  SPINDLE_ASSIGN_OR_RETURN(TrainerState s, ParseState(formats::JoinPath(dir, kStateFile)));
  const TrainerOptions& o = trainer.options();
  SPINDLE_ASSIGN_OR_RETURN(model::LlamaConfig config, model::ReadHfConfig(dir));
  if (model::ToHfConfigJson(config) != model::ToHfConfigJson(o.model)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir,
                     "/config.json: the checkpoint's model differs from the job's model section; "
                     "resume with the same model, or start from its weights with model.init"));
  }
  if (s.seq_len != o.seq_len) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": written with data.seq_len ", s.seq_len, ", the job has ", o.seq_len,
                     "; to change the length, start a new run from its weights"));
  }
  SPINDLE_ASSIGN_OR_RETURN(auto weights, model::ReadTensorFile(formats::JoinPath(dir, kModelFile)));
  SPINDLE_RETURN_IF_ERROR(
      trainer.optimizer().LoadWeights(formats::JoinPath(dir, kModelFile), weights));
  SPINDLE_ASSIGN_OR_RETURN(auto moments,
                           model::ReadTensorFile(formats::JoinPath(dir, kOptimizerFile)));
  SPINDLE_RETURN_IF_ERROR(
      trainer.optimizer().LoadMoments(formats::JoinPath(dir, kOptimizerFile), moments));
  trainer.set_step(s.step);
  trainer.optimizer().set_steps(s.optimizer_steps);
  return s;
}

absl::StatusOr<std::optional<TrainerState>> ResumeLatest(Trainer& trainer, const std::string& root,
                                                         std::vector<std::string>* skipped) {
  comm::Communicator& world = *trainer.groups().world;
  int64_t step = -1;  // rank 0's choice, so every rank loads the same one
  if (world.rank() == 0) {
    SPINDLE_ASSIGN_OR_RETURN(auto found, checkpoint::FindLatestValid(root, skipped));
    if (found) step = found->step;
  }
  SPINDLE_RETURN_IF_ERROR(world.Broadcast(&step, sizeof(step), 0));
  if (step < 0) return std::optional<TrainerState>();
  SPINDLE_ASSIGN_OR_RETURN(
      TrainerState s,
      LoadCheckpoint(trainer, formats::JoinPath(root, checkpoint::StepDirName(step))));
  return std::optional<TrainerState>(s);
}

}  // namespace spindle::train
