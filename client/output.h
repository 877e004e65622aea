// How syncctl renders what the server sends.
#ifndef SYNCADMIN_CLIENT_OUTPUT_H_
#define SYNCADMIN_CLIENT_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "syncadmin/v1/sync_admin.pb.h"

namespace syncadmin::client {

// Lower-case names without the enum prefix: "created", "meta", "sync_all".
std::string ActionName(v1::Action action);
std::string KindName(v1::Kind kind);
std::string OperationName(v1::Operation op);
std::string OutcomeName(v1::Outcome outcome);

// Prints a run's event stream as text lines, one per item, then a summary.
// Writes to `out` through a large buffer so that a million items print at
// stream speed; flushes after every event that is not an item batch.
class TextEventPrinter {
 public:
  explicit TextEventPrinter(FILE* out) : out_(out) {}

  void Print(const v1::SyncEvent& event);

  // The last event, if the stream got that far.
  bool finished() const { return finished_; }
  const v1::RunFinished& run_finished() const { return run_finished_; }
  const std::string& run_id() const { return run_id_; }

 private:
  void PrintStarted(const v1::RunStarted& started);
  void PrintItems(const v1::ItemBatch& batch);
  void PrintFinished(const v1::RunFinished& finished);

  FILE* out_;
  std::string run_id_;
  bool dry_run_ = false;
  bool finished_ = false;
  v1::RunFinished run_finished_;
};

// One line per tenant, with a header.
void PrintTenants(FILE* out, const v1::ListTenantsResponse& response);
// One line per run, with a header.
void PrintRuns(FILE* out, const v1::ListRunsResponse& response);
// Every field of one run.
void PrintRun(FILE* out, const v1::Run& run);

}  // namespace syncadmin::client

#endif  // SYNCADMIN_CLIENT_OUTPUT_H_
