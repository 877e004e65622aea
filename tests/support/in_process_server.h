// The SyncAdmin gRPC service started inside the test process on a free
// loopback port, with a stub connected to it.
#ifndef SYNCADMIN_TESTS_SUPPORT_IN_PROCESS_SERVER_H_
#define SYNCADMIN_TESTS_SUPPORT_IN_PROCESS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "core/engine.h"
#include "core/store.h"
#include "grpcpp/grpcpp.h"
#include "server/service.h"
#include "syncadmin/v1/sync_admin.grpc.pb.h"

namespace syncadmin::testing {

class InProcessServer {
 public:
  // Migrates the database behind `conninfo`, then serves it with `options`
  // and `stream_options` and syncd's size limits. With `authenticator`
  // (which must outlive the server) every call needs a token; without,
  // authentication is off.
  InProcessServer(const std::string& conninfo, core::EngineOptions options,
                  server::StreamOptions stream_options = {},
                  const server::Authenticator* authenticator = nullptr);
  ~InProcessServer();

  v1::SyncAdmin::Stub& stub() { return *stub_; }
  int port() const { return port_; }
  core::Store& store() { return *store_; }
  // Makes runs in progress stop as on a server shutdown.
  void SetShuttingDown(bool value) { shutting_down_.store(value); }

 private:
  std::unique_ptr<core::Store> store_;
  std::unique_ptr<core::Engine> engine_;
  std::atomic<bool> shutting_down_{false};
  std::unique_ptr<server::SyncAdminService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::SyncAdmin::Stub> stub_;
  int port_ = 0;
};

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_IN_PROCESS_SERVER_H_
