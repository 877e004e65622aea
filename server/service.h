// The gRPC face of SyncAdmin: validates requests, runs them through the core
// engine and store, maps statuses, and logs each failure once.
#ifndef SYNCADMIN_SERVER_SERVICE_H_
#define SYNCADMIN_SERVER_SERVICE_H_

#include <atomic>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/engine.h"
#include "core/store.h"
#include "grpcpp/grpcpp.h"
#include "server/auth.h"
#include "server/event_stream.h"
#include "syncadmin/v1/sync_admin.grpc.pb.h"

namespace syncadmin::server {

// Converts a core status to a gRPC status. The numeric codes are the same.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The least role that may run `request`: viewer for every dry run and for
// a health check that only reports, operator for operations that only
// insert, admin for those that delete or restore.
Role RequiredRole(const core::RunRequest& request);

// Implements `syncadmin.v1.SyncAdmin` with the synchronous gRPC API: each
// streaming call runs on its own server thread and owns one run.
//
// Every handler first authenticates the caller and checks its role (see
// `RequiredRole`; tenant registry changes need admin, their dry runs, lists
// and reading runs viewer): UNAUTHENTICATED or PERMISSION_DENIED, before any
// validation or database access. The caller's name is recorded as who asked.
class SyncAdminService final : public v1::SyncAdmin::Service {
 public:
  // `engine` and `store` must outlive the service. While `*shutting_down` is
  // true, runs in progress stop at their next check and roll back.
  // `stream_options` bound what each streaming call buffers for its client.
  // `authenticator`, if given, must outlive the service; without one,
  // authentication is off and every caller is an anonymous admin.
  SyncAdminService(core::Engine* engine, core::Store* store,
                   const std::atomic<bool>* shutting_down,
                   StreamOptions stream_options = {},
                   const Authenticator* authenticator = nullptr);

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
  // Authenticates the caller of `rpc` and checks it has `needed`; logs and
  // returns the refusal otherwise.
  absl::StatusOr<Principal> Caller(absl::string_view rpc,
                                   const grpc::ServerContext& context,
                                   Role needed) const;

  // Counts a streaming call of `caller` in progress until destroyed, if
  // the caller has fewer than `max_runs_per_caller` already.
  class RunSlot;

  // Checks the caller's role for `request`, runs it as the caller and
  // streams its events to `writer`; RESOURCE_EXHAUSTED when the caller has
  // `max_runs_per_caller` streaming calls in progress already.
  grpc::Status Stream(absl::string_view rpc, grpc::ServerContext* context,
                      core::RunRequest request,
                      grpc::ServerWriter<v1::SyncEvent>* writer);

  // Checks that the caller has `needed`, then runs a unary handler body
  // (called with the caller), logging a failure once and turning any
  // escaped exception into INTERNAL.
  template <typename Fn>
  grpc::Status Unary(absl::string_view rpc, grpc::ServerContext* context,
                     Role needed, Fn&& body);

  core::Engine* engine_;
  core::Store* store_;
  const std::atomic<bool>* shutting_down_;
  StreamOptions stream_options_;
  const Authenticator* authenticator_;

  absl::Mutex runs_mu_;
  // Streaming calls in progress by caller name; callers without any are
  // not kept.
  absl::flat_hash_map<std::string, int> runs_by_caller_
      ABSL_GUARDED_BY(runs_mu_);
};

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_SERVICE_H_
