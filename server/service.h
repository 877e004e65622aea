// The gRPC face of SyncAdmin: validates requests, runs them through the core
// engine and store, maps statuses, and logs each failure once.
#ifndef SYNCADMIN_SERVER_SERVICE_H_
#define SYNCADMIN_SERVER_SERVICE_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "core/engine.h"
#include "core/store.h"
#include "grpcpp/grpcpp.h"
#include "server/event_stream.h"
#include "syncadmin/v1/sync_admin.grpc.pb.h"

namespace syncadmin::server {

// Converts a core status to a gRPC status. The numeric codes are the same.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Implements `syncadmin.v1.SyncAdmin` with the synchronous gRPC API: each
// streaming call runs on its own server thread and owns one run.
class SyncAdminService final : public v1::SyncAdmin::Service {
 public:
  // `engine` and `store` must outlive the service. While `*shutting_down` is
  // true, runs in progress stop at their next check and roll back.
  // `stream_options` bound what each streaming call buffers for its client.
  SyncAdminService(core::Engine* engine, core::Store* store,
                   const std::atomic<bool>* shutting_down,
                   StreamOptions stream_options = {});

  grpc::Status SeedMeta(grpc::ServerContext* context,
                        const v1::SeedMetaRequest* request,
                        grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status SeedSettings(grpc::ServerContext* context,
                            const v1::SeedSettingsRequest* request,
                            grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status HealthCheck(grpc::ServerContext* context,
                           const v1::HealthCheckRequest* request,
                           grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status SeedTenant(grpc::ServerContext* context,
                          const v1::SeedTenantRequest* request,
                          grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status SeedModule(grpc::ServerContext* context,
                          const v1::SeedModuleRequest* request,
                          grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status RemoveTenant(grpc::ServerContext* context,
                            const v1::RemoveTenantRequest* request,
                            grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status SyncAll(grpc::ServerContext* context,
                       const v1::SyncAllRequest* request,
                       grpc::ServerWriter<v1::SyncEvent>* writer) override;
  grpc::Status Restore(grpc::ServerContext* context,
                       const v1::RestoreRequest* request,
                       grpc::ServerWriter<v1::SyncEvent>* writer) override;

  grpc::Status CreateTenant(grpc::ServerContext* context,
                            const v1::CreateTenantRequest* request,
                            v1::CreateTenantResponse* response) override;
  grpc::Status ListTenants(grpc::ServerContext* context,
                           const v1::ListTenantsRequest* request,
                           v1::ListTenantsResponse* response) override;
  grpc::Status SetTenantActive(grpc::ServerContext* context,
                               const v1::SetTenantActiveRequest* request,
                               v1::SetTenantActiveResponse* response) override;
  grpc::Status ListRuns(grpc::ServerContext* context,
                        const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  grpc::Status GetRun(grpc::ServerContext* context,
                      const v1::GetRunRequest* request,
                      v1::GetRunResponse* response) override;

 private:
  // Runs `request` and streams its events to `writer`.
  grpc::Status Stream(absl::string_view rpc, grpc::ServerContext* context,
                      core::RunRequest request,
                      grpc::ServerWriter<v1::SyncEvent>* writer);

  // Runs a unary handler body, logging a failure once and turning any
  // escaped exception into INTERNAL.
  template <typename Fn>
  grpc::Status Unary(absl::string_view rpc, grpc::ServerContext* context,
                     Fn&& body);

  core::Engine* engine_;
  core::Store* store_;
  const std::atomic<bool>* shutting_down_;
  StreamOptions stream_options_;
};

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_SERVICE_H_
