// The gRPC health status of a real syncd follows its database: a private
// PostgreSQL cluster is stopped and started under it.
#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/pg_cluster.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace syncadmin::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

constexpr char kService[] = "syncadmin.v1.SyncAdmin";

// The status the health service reports for `service`, or "UNREACHABLE".
std::string HealthOf(grpc::health::v1::Health::Stub& stub,
                     const std::string& service) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  if (!stub.Check(&context, request, &response).ok()) return "UNREACHABLE";
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

bool WaitUntil(const std::function<bool()>& done, double timeout_s) {
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(HealthFollowsDbTest, HealthFlipsWithTheDatabase) {
  PgCluster pg;
  {
    pqxx::connection admin(pg.conninfo());
    pqxx::nontransaction(admin).exec("CREATE DATABASE syncadmin");
  }
  TempDir modules;
  modules.MakeDir("blog");
  SyncdProcess syncd(pg.conninfo("syncadmin"), modules.str(),
                     {"--db-check-interval", "0.2"});
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(syncd.address(), grpc::InsecureChannelCredentials()));
  const auto serving_is = [&](const std::string& status) {
    return HealthOf(*stub, "") == status && HealthOf(*stub, kService) == status;
  };
  ASSERT_TRUE(serving_is("SERVING"));
  ASSERT_EQ(RunSyncctl(syncd.address(), {"ping"}).exit_code, 0);

  pg.Stop();
  EXPECT_TRUE(WaitUntil([&] { return serving_is("NOT_SERVING"); }, 15))
      << HealthOf(*stub, kService) << "\n"
      << syncd.Log();
  const CommandResult ping = RunSyncctl(syncd.address(), {"ping"});
  EXPECT_EQ(ping.exit_code, 1);
  EXPECT_EQ(ping.out, "syncadmin.v1.SyncAdmin NOT_SERVING\n");

  pg.Start();
  EXPECT_TRUE(WaitUntil([&] { return serving_is("SERVING"); }, 15))
      << HealthOf(*stub, kService) << "\n"
      << syncd.Log();
  EXPECT_EQ(RunSyncctl(syncd.address(), {"ping"}).exit_code, 0);
  // The server works again, not just its health status.
  EXPECT_EQ(RunSyncctl(syncd.address(), {"tenants", "add", "acme"}).exit_code,
            0);

  // Several failed pings, one line per transition.
  const std::string log = syncd.Log();
  EXPECT_EQ(Occurrences(log, "database unreachable; health NOT_SERVING"), 1u)
      << log;
  EXPECT_EQ(Occurrences(log, "database reachable again; health SERVING"), 1u)
      << log;
  EXPECT_LT(log.find("NOT_SERVING"), log.find("reachable again"));
}

TEST(HealthFollowsDbTest, ADatabaseThatHangsIsNotServing) {
  PgCluster pg;
  TempDir modules;
  modules.MakeDir("blog");
  SyncdProcess syncd(pg.conninfo(), modules.str(),
                     {"--db-check-interval", "0.2", "--db-check-timeout",
                      "0.5"});
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      syncd.address(), grpc::InsecureChannelCredentials()));
  ASSERT_EQ(HealthOf(*stub, kService), "SERVING");

  // The port accepts connections, but nothing answers on them: pings hang
  // rather than fail.
  pg.Pause();
  EXPECT_TRUE(WaitUntil(
      [&] { return HealthOf(*stub, kService) == "NOT_SERVING"; }, 15))
      << syncd.Log();
  EXPECT_THAT(syncd.Log(), HasSubstr("did not answer a ping within"));

  pg.Resume();
  EXPECT_TRUE(
      WaitUntil([&] { return HealthOf(*stub, kService) == "SERVING"; }, 15))
      << syncd.Log();
}

TEST(HealthFollowsDbTest, ShutdownReportsNotServingWhileTheDatabaseIsUp) {
  PgCluster pg;
  TempDir modules;
  modules.MakeDir("blog");
  SyncdProcess syncd(pg.conninfo(), modules.str(),
                     {"--db-check-interval", "0.1"});
  EXPECT_EQ(syncd.Stop(SIGTERM, 30), 0) << syncd.Log();
  EXPECT_THAT(syncd.Log(), ::testing::Not(HasSubstr("database unreachable")));
}

}  // namespace
}  // namespace syncadmin::testing
