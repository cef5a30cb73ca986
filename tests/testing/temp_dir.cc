#include "tests/testing/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/status.h"
#include "gtest/gtest.h"

namespace spindle::testing {

TempDir::TempDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string name = "spindle_test";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';  // parameterised names
    }
  }
  std::string tmpl =
      std::string(root != nullptr && *root != '\0' ? root : "/tmp") + "/" + name + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  SPINDLE_CHECK(mkdtemp(buf.data()) != nullptr)
      << "mkdtemp(" << tmpl << "): " << std::strerror(errno);
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace spindle::testing
