// The Ulysses buffer copies on CPU tensors against torch's own permutes of
// the documented layouts, including strided inputs and parts sharing one
// buffer, and the refusals that name the mismatch.
#include "worker/sp/ulysses_copy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace spindle::sp {
namespace {

constexpr int64_t kU = 4, kB = 2, kL = 3, kD = 8;

at::Tensor Random(std::vector<int64_t> sizes, at::ScalarType type = at::kDouble) {
  at::Generator gen = at::detail::createCPUGenerator(7);
  return at::randn(sizes, gen, at::TensorOptions().dtype(type));
}

TEST(UlyssesCopyTest, HeadsOfTwoPartsRoundTripThroughOneBuffer) {
  const int64_t nq = 2, nkv = 1;
  // q transposed from (b, h, L, d): heads are not the contiguous neighbours of d.
  const at::Tensor q = Random({kB, kU * nq, kL, kD}).transpose(1, 2);
  const at::Tensor k = Random({kB, kL, kU * nkv, kD});
  const int64_t sq = kB * kL * nq * kD, skv = kB * kL * nkv * kD;
  at::Tensor send = at::zeros({kU, sq + skv}, q.options());
  PackHeads(q, {0, kB, kL, nq, kD}, send);
  PackHeads(k, {sq, kB, kL, nkv, kD}, send);
  // Segment j: heads [j·n, (j+1)·n) of every token, as (b, L, n, d).
  for (int64_t j = 0; j < kU; ++j) {
    EXPECT_TRUE(send[j].narrow(0, 0, sq).view({kB, kL, nq, kD}).equal(q.narrow(2, j * nq, nq)));
    EXPECT_TRUE(
        send[j].narrow(0, sq, skv).view({kB, kL, nkv, kD}).equal(k.narrow(2, j * nkv, nkv)));
  }
  // Unpacking the same buffer by tokens concatenates segment j at rows j·L.
  const at::Tensor by_tokens = UnpackTokens(send, {sq, kB, kL, nkv, kD});
  ASSERT_EQ(by_tokens.sizes(), at::IntArrayRef({kB, kU * kL, nkv, kD}));
  for (int64_t j = 0; j < kU; ++j)
    EXPECT_TRUE(by_tokens.narrow(1, j * kL, kL).equal(k.narrow(2, j * nkv, nkv)));
  EXPECT_TRUE(UnpackHeads(send, {0, kB, kL, nq, kD}).equal(q));
  EXPECT_TRUE(UnpackHeads(send, {sq, kB, kL, nkv, kD}).equal(k));
}

TEST(UlyssesCopyTest, TokensRoundTrip) {
  const int64_t n = 3;
  const at::Tensor o = Random({kB, kU * kL, n, kD}, at::kFloat);
  at::Tensor send = at::empty({kU, kB * kL * n * kD}, o.options());
  PackTokens(o, {0, kB, kL, n, kD}, send);
  for (int64_t j = 0; j < kU; ++j)
    EXPECT_TRUE(send[j].view({kB, kL, n, kD}).equal(o.narrow(1, j * kL, kL)));
  EXPECT_TRUE(UnpackTokens(send, {0, kB, kL, n, kD}).equal(o));
}

TEST(UlyssesCopyTest, SingleHeadPartsWithOddStridesAreCopied) {
  // One head per rank: a size-1 head dimension whose stride is not d.
  const at::Tensor wide = Random({kB, kL, kU, 2 * kD});
  const at::Tensor t = wide.narrow(3, 0, kD);  // heads stride 2d
  at::Tensor send = at::empty({kU, kB * kL * kD}, t.options());
  PackHeads(t, {0, kB, kL, 1, kD}, send);
  EXPECT_TRUE(UnpackHeads(send, {0, kB, kL, 1, kD}).equal(t));
}

template <typename Fn>
void ExpectRefusal(Fn fn, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "not refused; expected an error containing '" << text << "'";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find(text), std::string::npos)
        << e.what_without_backtrace();
  }
}

TEST(UlyssesCopyTest, RefusesMismatchedPartsNamingTheProblem) {
  const at::Tensor t = Random({kB, kL, kU * 2, kD});
  at::Tensor send = at::empty({kU, kB * kL * 2 * kD}, t.options());
  ExpectRefusal([&] { PackHeads(t, {0, kB, kL, 3, kD}, send); }, "Ulysses pack expected");
  ExpectRefusal([&] { PackHeads(t, {1, kB, kL, 2, kD}, send); }, "does not fit a segment");
  at::Tensor floats = send.to(at::kFloat);
  ExpectRefusal([&] { PackHeads(t, {0, kB, kL, 2, kD}, floats); }, "must share dtype and device");
}

}  // namespace
}  // namespace spindle::sp
