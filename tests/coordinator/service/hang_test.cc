// Hang diagnosis (coordinator/service/hang.h): the frozen rank, the rank
// behind in a group, or nobody when all wait inside the same collective.
#include "coordinator/service/hang.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spindle::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<RankLife> FourRanks(int64_t now) {
  std::vector<RankLife> r;
  for (int i = 0; i < 4; ++i) {
    r.push_back({i, i < 2 ? "w0" : "w1", i % 2, now - 300, 41, {{"ring", 1200}, {"world", 90}}});
  }
  return r;
}

TEST(HangTest, AFrozenRankIsTheCulprit) {
  const int64_t now = 1'000'000;
  std::vector<RankLife> r = FourRanks(now);
  r[3].time_ms = now - 9000;
  const HangDiagnosis d = DiagnoseHang(r, now, 5000);
  EXPECT_THAT(d.culprits, ElementsAre(3));
  EXPECT_THAT(d.text, HasSubstr("rank 3 on worker w1 (device 1) gave no sign of life for 9 s"));
}

TEST(HangTest, ARankThatNeverReportedIsTheCulprit) {
  std::vector<RankLife> r = FourRanks(1'000'000);
  r[1].time_ms = 0;
  EXPECT_THAT(DiagnoseHang(r, 1'000'000, 5000).culprits, ElementsAre(1));
}

TEST(HangTest, TheRankBehindInAGroupIsTheCulprit) {
  std::vector<RankLife> r = FourRanks(1'000'000);
  r[2].seq["ring"] = 1199;  // the others entered collective 1200 and wait for it
  const HangDiagnosis d = DiagnoseHang(r, 1'000'000, 5000);
  EXPECT_THAT(d.culprits, ElementsAre(2));
  EXPECT_THAT(d.text, HasSubstr("rank 2 on worker w1 (device 0) is behind in group 'ring' "
                                "(collective 1199, others at 1200)"));
}

TEST(HangTest, EveryoneInsideTheSameCollectiveBlamesNoRank) {
  const HangDiagnosis d = DiagnoseHang(FourRanks(1'000'000), 1'000'000, 5000);
  EXPECT_TRUE(d.culprits.empty());
  EXPECT_THAT(d.text, HasSubstr("same collective"));
}

}  // namespace
}  // namespace spindle::coordinator
