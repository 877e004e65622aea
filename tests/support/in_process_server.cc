#include "tests/support/in_process_server.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "server/security.h"

namespace syncadmin::testing {

InProcessServer::InProcessServer(const std::string& conninfo,
                                 core::EngineOptions options,
                                 server::StreamOptions stream_options,
                                 const server::Authenticator* authenticator) {
  auto store = core::Store::Open(conninfo);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  store_ = *std::move(store);
  if (absl::Status s = store_->Migrate(); !s.ok()) {
    throw std::runtime_error(s.ToString());
  }
  engine_ = std::make_unique<core::Engine>(std::move(options), store_.get());
  service_ = std::make_unique<server::SyncAdminService>(
      engine_.get(), store_.get(), &shutting_down_, stream_options,
      authenticator);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(service_.get());
  server::ApplyLimits(builder);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) throw std::runtime_error("server did not start");
  stub_ = v1::SyncAdmin::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
}

InProcessServer::~InProcessServer() {
  shutting_down_.store(true);
  server_->Shutdown();
  server_->Wait();
}

}  // namespace syncadmin::testing
