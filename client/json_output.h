// How syncctl renders what the server sends with `--output json`: one JSON
// object per line, for `jq` and scripts.
//
// Field names are snake_case and stable; enum values use the same short
// lower-case names as the text output ("created", "meta", "sync_all").
//
// A run's stream becomes one line per event, and one line per item even
// though the server sends items in batches:
//
//   {"event":"run_started","run_id":"…","sequence":1,"operation":"sync_all",
//    "dry_run":false,"requested_by":"…","module_count":15,"tenant_count":3}
//   {"event":"phase_started","run_id":"…","sequence":2,"phase":"seed-metas",
//    "total":45}
//   {"event":"item","run_id":"…","sequence":3,"action":"created",
//    "kind":"meta","tenant":"acme","module":"blog","message":""}
//   {"event":"run_finished","run_id":"…","sequence":9,"outcome":"committed",
//    "duration_ms":41,"counts":[{"action":"created","kind":"meta",
//    "count":45}],"error":""}
//
// Items of one batch share its `sequence`. `run_finished` carries a
// `health` object for `health` runs. When the call fails, the last line is
// {"event":"error","code":"FAILED_PRECONDITION","message":"…"}.
#ifndef SYNCADMIN_CLIENT_JSON_OUTPUT_H_
#define SYNCADMIN_CLIENT_JSON_OUTPUT_H_

#include <cstdio>
#include <string>

#include "nlohmann/json.hpp"
#include "syncadmin/v1/sync_admin.pb.h"

namespace syncadmin::client {

using Json = nlohmann::ordered_json;

// Writes `value` as one line. Invalid UTF-8 from the server is replaced,
// never thrown on.
void WriteJsonLine(FILE* out, const Json& value);

// Prints a run's event stream as JSON lines (see the file comment).
class JsonEventPrinter {
 public:
  explicit JsonEventPrinter(FILE* out) : out_(out) {}

  void Print(const v1::SyncEvent& event);

 private:
  FILE* out_;
};

// The objects of the unary commands' output.
Json TenantJson(const v1::Tenant& tenant);
Json RunJson(const v1::Run& run);
Json TenantsJson(const v1::ListTenantsResponse& response);
Json RunsJson(const v1::ListRunsResponse& response);

// The last line of a failed call.
Json ErrorJson(const std::string& code, const std::string& message);

}  // namespace syncadmin::client

#endif  // SYNCADMIN_CLIENT_JSON_OUTPUT_H_
