// A fresh directory per test (stores, logs, checkpoints), removed with its
// contents when the object goes.
#pragma once

#include <string>

namespace spindle::testing {

class TempDir {
 public:
  // Creates $TEST_TMPDIR (or /tmp)/<suite>.<test>.XXXXXX; aborts when it
  // cannot, since no test can run without it.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace spindle::testing
