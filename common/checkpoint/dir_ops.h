// Directory operations the checkpoint commit protocol is built from: listing,
// recursive removal, mkdir -p with durable parents, and replacing a directory
// so that its path always holds the old or the new tree. Plus the names of the
// temporary directories a commit or prune leaves behind if it crashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spindle::checkpoint {

// Entry names in dir (without "." and ".."), sorted; NotFound when dir is
// missing.
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir);

// True when path is a directory (not following a final symlink).
bool IsDirectory(const std::string& path);

// rm -rf; OK when path does not exist.
absl::Status RemoveTree(const std::string& path);

// mkdir -p, fsyncing the parent of each directory it creates.
absl::Status MakeDirectories(const std::string& path);

// ".step-00000020.tmp-<16 hex digits>": a fresh random name for a checkpoint
// being written, or for an old one being moved out of the way.
std::string TempDirName(int64_t step);
// ".step-*.tmp-*": what a crash may leave; PruneCheckpoints removes them.
bool IsTempDirName(std::string_view name);

// Renames directory `from` onto `to`. When `to` exists, swaps the two
// atomically (renameat2 RENAME_EXCHANGE) and removes the old tree, now at
// `from`; where the filesystem cannot swap (NFS, or use_exchange false), moves
// the old tree to `aside`, renames, then removes it, so a crash in between
// leaves `to` missing (its previous checkpoint is still the fallback) and
// `aside` to be pruned. Removing the old tree is best effort: a leftover has
// a temporary name, which PruneCheckpoints removes. The caller fsyncs the
// parent afterwards.
absl::Status ReplaceDirectory(const std::string& from, const std::string& to,
                              const std::string& aside, bool use_exchange = true);

}  // namespace spindle::checkpoint
