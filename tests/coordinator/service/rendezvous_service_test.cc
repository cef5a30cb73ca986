// The coordinator's rendezvous service through the store the ranks use
// (common/rendezvous), over a real loopback gRPC server.
#include "coordinator/service/rendezvous_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rendezvous/grpc_store.h"

namespace spindle::coordinator {
namespace {

using namespace std::chrono_literals;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";

class RendezvousTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    service_.Shutdown();
    server_->Shutdown();
  }
  std::unique_ptr<gloo::rendezvous::Store> Store(int attempt, std::chrono::milliseconds wait,
                                                 const std::string& key = kKey) {
    auto s = rendezvous::MakeStore(absl::StrCat("grpc://127.0.0.1:", port_, "/job-1/", attempt),
                                   wait, key);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }

  RendezvousService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(RendezvousTest, GetWaitsForTheValueSetByAnotherRank) {
  service_.Open("job-1", 1, kKey);
  auto a = Store(1, 10s), b = Store(1, 10s);
  std::thread setter([&] {
    std::this_thread::sleep_for(300ms);
    a->set("key", std::vector<char>{'x', '\0', 'y'});
  });
  const std::vector<char> got = b->get("key");
  setter.join();
  EXPECT_EQ(got, (std::vector<char>{'x', '\0', 'y'}));
  b->wait({"key"});
}

TEST_F(RendezvousTest, MissingKeyTimesOutNamingIt) {
  service_.Open("job-1", 1, kKey);
  auto s = Store(1, 500ms);
  try {
    s->wait({"never"}, 300ms);
    FAIL() << "no timeout";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("never"), std::string::npos) << e.what();
  }
}

TEST_F(RendezvousTest, StaleAttemptIsFenced) {
  service_.Open("job-1", 2, kKey);
  auto stale = Store(1, 2s);
  try {
    stale->set("k", {'1'});
    FAIL() << "attempt 1 was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("stale"), std::string::npos) << e.what();
  }
  // Closing an attempt drops its keys and refuses its ranks.
  auto current = Store(2, 2s);
  current->set("k", {'1'});
  service_.Close("job-1", 2);
  EXPECT_THROW(current->get("k"), std::exception);
}

TEST_F(RendezvousTest, CallersWithoutTheAttemptKeyAreRefusedAtOnce) {
  service_.Open("job-1", 1, kKey);
  for (const std::string& key : {std::string("wrong"), std::string(kKey) + "0"}) {
    auto s = Store(1, 30s, key);
    const auto start = std::chrono::steady_clock::now();
    try {
      s->set("k", {'1'});
      FAIL() << "key '" << key << "' was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("wrong attempt key"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(kKey), std::string::npos) << "the key leaked";
    }
    // Final, not retried until the 30 s wait runs out.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  }
  auto good = Store(1, 2s);
  good->set("k", {'1'});
  EXPECT_EQ(good->get("k"), std::vector<char>{'1'});
}

TEST(RendezvousAddressTest, ParsesAndRejects) {
  auto a = rendezvous::ParseGrpcAddress("grpc://host:7070/demo-3/2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->target, "host:7070");
  EXPECT_EQ(a->job_id, "demo-3");
  EXPECT_EQ(a->attempt, 2);
  for (const char* bad : {"http://x/y/1", "grpc://host:1/job", "grpc://host:1/job/zero",
                          "grpc://host:1/job/0"}) {
    EXPECT_FALSE(rendezvous::ParseGrpcAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace spindle::coordinator
