// Malformed problems are rejected with InvalidArgument naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cpu/isa.h"

namespace spindle::kernels {
namespace {

// A valid problem (b 1, s 4, h 2, h_kv 1, d 8) over owned buffers.
class ValidateTest : public ::testing::Test {
 protected:
  ValidateTest() : buf_(1024, 0.5f), lse_(64, 0.0f) {
    p_.q = {buf_.data(), 64, 16, 8};
    p_.k = {buf_.data(), 32, 8, 8};
    p_.v = {buf_.data(), 32, 8, 8};
    p_.b = 1;
    p_.s_q = p_.s_k = 4;
    p_.h = 2;
    p_.h_kv = 1;
    p_.d = 8;
    p_.scale = 0.35f;
    out_ = {{o_.data(), 64, 16, 8}, {lse_.data(), 8, 4}};
    bin_ = {{o_.data(), 64, 16, 8}, {o_.data(), 64, 16, 8}, {lse_.data(), 8, 4}};
    bout_ = {{dq_.data(), 64, 16, 8}, {dk_.data(), 32, 8, 8}, {dk_.data() + 32, 32, 8, 8}, false};
  }

  // Expects InvalidArgument mentioning `field` from forward and backward.
  void ExpectInvalid(const std::string& field) {
    for (absl::Status s :
         {AttentionForward(p_, out_, nullptr), AttentionBackward(p_, bin_, bout_, nullptr)}) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      EXPECT_NE(std::string(s.message()).find(field), std::string::npos) << s;
    }
  }

  std::vector<float> buf_;
  std::vector<float> o_ = std::vector<float>(64), dq_ = std::vector<float>(64),
                     dk_ = std::vector<float>(64);
  std::vector<float> lse_;
  AttentionProblem p_;
  AttentionForwardOut out_;
  AttentionBackwardIn bin_;
  AttentionBackwardOut bout_;
};

TEST_F(ValidateTest, ValidProblemRuns) {
  EXPECT_TRUE(AttentionForward(p_, out_, nullptr).ok());
  EXPECT_TRUE(AttentionBackward(p_, bin_, bout_, nullptr).ok());
}

TEST_F(ValidateTest, NonPositiveSizes) {
  for (auto [field, member] : std::vector<std::pair<std::string, int64_t AttentionProblem::*>>{
           {"AttentionProblem.b", &AttentionProblem::b},
           {"AttentionProblem.s_q", &AttentionProblem::s_q},
           {"AttentionProblem.s_k", &AttentionProblem::s_k},
           {"AttentionProblem.h:", &AttentionProblem::h},
           {"AttentionProblem.h_kv", &AttentionProblem::h_kv},
           {"AttentionProblem.d", &AttentionProblem::d}}) {
    SCOPED_TRACE(field);
    const int64_t keep = p_.*member;
    p_.*member = 0;
    ExpectInvalid(field);
    p_.*member = keep;
  }
}

TEST_F(ValidateTest, HKvMustDivideH) {
  p_.h = 3;
  p_.h_kv = 2;
  ExpectInvalid("AttentionProblem.h_kv: 2 does not divide h = 3");
}

TEST_F(ValidateTest, ScaleValidLenAndPositions) {
  p_.scale = NAN;
  ExpectInvalid("AttentionProblem.scale");
  p_.scale = 0.35f;
  p_.valid_len = -1;
  ExpectInvalid("AttentionProblem.valid_len");
  p_.valid_len = kNoPadding;
  const int64_t bad[4] = {0, 1, -2, 3};
  p_.k_pos = bad;
  ExpectInvalid("AttentionProblem.k_pos[2]");
  p_.k_pos = nullptr;
  p_.q_pos = bad;
  ExpectInvalid("AttentionProblem.q_pos[2]");
}

TEST_F(ValidateTest, NullPointersAndNegativeStrides) {
  p_.q.data = nullptr;
  ExpectInvalid("AttentionProblem.q.data");
  p_.q.data = buf_.data();
  p_.v.row_stride = -8;
  ExpectInvalid("AttentionProblem.v.row_stride");
}

TEST_F(ValidateTest, OverlappingOutputs) {
  out_.o.head_stride = 7;  // two heads would share an element of d = 8
  EXPECT_NE(AttentionForward(p_, out_, nullptr).message().find("AttentionForwardOut.o.head_stride"),
            std::string::npos);
  out_.o.head_stride = 8;
  out_.lse.data = nullptr;
  EXPECT_NE(AttentionForward(p_, out_, nullptr).message().find("AttentionForwardOut.lse.data"),
            std::string::npos);
  bout_.dk.row_stride = 4;
  const absl::Status s = AttentionBackward(p_, bin_, bout_, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("AttentionBackwardOut.dk.row_stride"), std::string::npos) << s;
  bout_.dk.row_stride = 8;
  bin_.lse.data = nullptr;
  EXPECT_NE(AttentionBackward(p_, bin_, bout_, nullptr).message().find("AttentionBackwardIn.lse"),
            std::string::npos);
}

TEST_F(ValidateTest, InputsMayBroadcastWithZeroStrides) {
  p_.k.row_stride = 0;  // every key row is the same memory: allowed for inputs
  EXPECT_TRUE(AttentionForward(p_, out_, nullptr).ok());
}

TEST(MergeValidateTest, NamesTheField) {
  std::vector<float> o(16), lse(2);
  MergeProblem m{{o.data(), 16, 8, 8},
                 {lse.data(), 2, 2},
                 {o.data(), 16, 8, 8},
                 {lse.data(), 2, 2},
                 1,
                 2,
                 1,
                 8};
  EXPECT_TRUE(MergeAttention(m, nullptr).ok());
  m.d = 0;
  EXPECT_NE(MergeAttention(m, nullptr).message().find("MergeProblem.d"), std::string::npos);
  m.d = 8;
  m.o_blk.data = nullptr;
  EXPECT_NE(MergeAttention(m, nullptr).message().find("MergeProblem.o_blk.data"),
            std::string::npos);
}

}  // namespace
}  // namespace spindle::kernels
