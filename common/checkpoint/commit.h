// Training checkpoints as directories committed atomically:
//   <root>/step-00000020/          one committed checkpoint (any files, any
//                                  subdirectories) plus MANIFEST.json
//   <root>/latest                  "step-00000020\n", replaced atomically
//   <root>/.step-00000030.tmp-<r>  a checkpoint being written (or a crash's
//                                  leftover, which readers ignore)
// A checkpoint exists once its directory has its final name; that rename
// happens after every file and then the manifest are durable. See
// [Commit order] in commit.cc. Not here: what the files hold, or which ranks
// write them (the trainer writes its shards into dir() before one Commit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spindle::checkpoint {

inline constexpr char kLatestName[] = "latest";

// "step-00000020": at least 8 digits, more for steps from 10^8 on.
std::string StepDirName(int64_t step);
// The step a name like "step-00000020" denotes, exactly as StepDirName writes
// it; nullopt for anything else (temporary names, "step-20", "step-x").
std::optional<int64_t> ParseStepDirName(std::string_view name);

// A checkpoint being written. Destroying it before Commit removes its
// temporary directory; a crash leaves the directory, which FindLatestValid
// ignores and PruneCheckpoints removes.
class PendingCheckpoint {
 public:
  PendingCheckpoint(PendingCheckpoint&& other) noexcept;
  PendingCheckpoint& operator=(PendingCheckpoint&& other) noexcept;
  PendingCheckpoint(const PendingCheckpoint&) = delete;
  PendingCheckpoint& operator=(const PendingCheckpoint&) = delete;
  ~PendingCheckpoint();

  // Where to write the checkpoint's files before Commit (the temporary
  // directory); the committed <root>/step-NNNNNNNN after a successful Commit.
  const std::string& dir() const { return dir_; }
  const std::string& root() const { return root_; }
  int64_t step() const { return step_; }

  // Fsyncs and digests every file, writes MANIFEST.json last, renames the
  // directory to <root>/step-NNNNNNNN (replacing a checkpoint of the same
  // step), fsyncs root and points <root>/latest at it. InvalidArgument for a
  // file named MANIFEST.json, a symlink or other special file, or a name that
  // is not UTF-8. The checkpoint is finished afterwards, whether or not Commit
  // succeeded; a failure before the rename removes the temporary directory.
  absl::Status Commit();

 private:
  friend absl::StatusOr<PendingCheckpoint> BeginCheckpoint(const std::string& root, int64_t step);
  PendingCheckpoint(std::string root, int64_t step, std::string dir)
      : root_(std::move(root)), step_(step), dir_(std::move(dir)) {}
  void Abandon();

  std::string root_;
  int64_t step_ = 0;
  std::string dir_;
  bool open_ = true;  // false once committed, abandoned or moved from
};

// Creates root (and its parents) if needed and a fresh temporary directory
// for `step` (>= 0) inside it.
absl::StatusOr<PendingCheckpoint> BeginCheckpoint(const std::string& root, int64_t step);

// OK when dir holds a parseable manifest (for the step its name says, if it
// is named step-NNNNNNNN) and every file it lists with the listed size and
// CRC32C; extra files are ignored. Otherwise DataLoss (NotFound for a missing
// dir) naming the file and the problem, e.g. "ckpt/step-00000020/model.
// safetensors: size 1200 bytes, manifest says 4096: the checkpoint is torn;
// delete it or resume from an earlier one". Reads every byte.
absl::Status VerifyCheckpoint(const std::string& dir);

struct CheckpointRef {
  std::string dir;  // <root>/step-NNNNNNNN
  int64_t step = 0;
};

// The checkpoint to resume from: the one <root>/latest names if it verifies
// (so a deliberate rollback of `latest` is honoured), else the newest
// step-NNNNNNNN directory that verifies. Each candidate rejected on the way
// is appended to *skipped with its reason, for the caller to log. nullopt
// when root is missing or holds no valid checkpoint; an error only when root
// cannot be listed. A crash between a commit's rename and its update of
// `latest` therefore resumes from the previous checkpoint, which is
// consistent; the next commit of that step replaces the orphan.
absl::StatusOr<std::optional<CheckpointRef>> FindLatestValid(
    const std::string& root, std::vector<std::string>* skipped = nullptr);

// Deletes all step directories but the newest keep_last (>= 1) and the one
// <root>/latest names, plus temporary directories and `latest` temp files
// that crashes left. Each deleted checkpoint is first renamed to a temporary
// name, so a crash mid-delete never leaves a torn step directory. Does not
// verify anything. Call it only while no PendingCheckpoint under root is open.
absl::Status PruneCheckpoints(const std::string& root, int keep_last);

}  // namespace spindle::checkpoint
