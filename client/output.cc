#include "client/output.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace syncadmin::client {
namespace {

// Strips an enum value's prefix and lower-cases the rest:
// ("ACTION_WOULD_CREATE", "ACTION_") -> "would_create".
std::string ShortName(const std::string& full, absl::string_view prefix) {
  absl::string_view name = full;
  if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(name);
}

// Text from the server is printed as data: control characters are replaced
// so that nothing can move the cursor or forge a line.
std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? '?' : c;
  }
  return out;
}

std::string Plural(uint64_t n, absl::string_view word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

std::string Duration(uint64_t ms) {
  if (ms < 1000) return absl::StrCat(ms, " ms");
  return absl::StrFormat("%.2f s", static_cast<double>(ms) / 1000.0);
}

}  // namespace

std::string ActionName(v1::Action action) {
  return ShortName(v1::Action_Name(action), "ACTION_");
}
std::string KindName(v1::Kind kind) {
  return ShortName(v1::Kind_Name(kind), "KIND_");
}
std::string OperationName(v1::Operation op) {
  return ShortName(v1::Operation_Name(op), "OPERATION_");
}
std::string OutcomeName(v1::Outcome outcome) {
  return ShortName(v1::Outcome_Name(outcome), "OUTCOME_");
}

void TextEventPrinter::Print(const v1::SyncEvent& event) {
  switch (event.event_case()) {
    case v1::SyncEvent::kRunStarted:
      PrintStarted(event.run_started());
      break;
    case v1::SyncEvent::kPhaseStarted:
      absl::FPrintF(out_, "phase %s%s\n",
                    Printable(event.phase_started().name()),
                    event.phase_started().total() == 0
                        ? std::string()
                        : absl::StrCat(" (", Plural(event.phase_started().total(),
                                                    "candidate"), ")"));
      std::fflush(out_);
      break;
    case v1::SyncEvent::kItems:
      PrintItems(event.items());
      break;
    case v1::SyncEvent::kRunFinished:
      PrintFinished(event.run_finished());
      break;
    case v1::SyncEvent::EVENT_NOT_SET:
      break;
  }
}

void TextEventPrinter::PrintStarted(const v1::RunStarted& started) {
  run_id_ = started.run_id();
  dry_run_ = started.dry_run();
  // Counts are zero when the run has not looked yet (it waits for its lock,
  // or failed first); then there is nothing to say about them.
  std::string scope;
  if (started.module_count() > 0 || started.tenant_count() > 0) {
    scope = absl::StrCat(" (", Plural(started.module_count(), "module"), ", ",
                         Plural(started.tenant_count(), "tenant"), ")");
  }
  absl::FPrintF(out_, "run %s: %s%s started%s\n", run_id_,
                OperationName(started.operation()),
                dry_run_ ? " (dry run)" : "", scope);
  std::fflush(out_);
}

void TextEventPrinter::PrintItems(const v1::ItemBatch& batch) {
  std::string text;
  text.reserve(static_cast<size_t>(batch.items_size()) * 48);
  for (const v1::Item& item : batch.items()) {
    absl::StrAppendFormat(&text, "  %-12s %-7s %s", ActionName(item.action()),
                          KindName(item.kind()), Printable(item.tenant()));
    if (!item.module().empty()) {
      absl::StrAppend(&text, "/", Printable(item.module()));
    }
    if (!item.message().empty()) {
      absl::StrAppend(&text, "  ", Printable(item.message()));
    }
    text += '\n';
  }
  std::fwrite(text.data(), 1, text.size(), out_);
}

void TextEventPrinter::PrintFinished(const v1::RunFinished& finished) {
  finished_ = true;
  run_finished_ = finished;
  std::string outcome = OutcomeName(finished.outcome());
  if (finished.outcome() == v1::OUTCOME_ROLLED_BACK && dry_run_) {
    outcome = "rolled back (dry run: nothing was written)";
  } else if (finished.outcome() == v1::OUTCOME_ROLLED_BACK) {
    outcome = "rolled back (report only: nothing was written)";
  }
  absl::FPrintF(out_, "run %s %s in %s\n", run_id_, outcome,
                Duration(finished.duration_ms()));

  // One line per action: "created: 45 metas, 42 settings".
  std::map<int, std::vector<std::string>> by_action;
  for (const v1::ActionCount& c : finished.counts()) {
    by_action[c.action()].push_back(Plural(c.count(), KindName(c.kind())));
  }
  const bool undone = finished.outcome() == v1::OUTCOME_FAILED ||
                      finished.outcome() == v1::OUTCOME_CANCELLED;
  if (by_action.empty() && !undone) absl::FPrintF(out_, "  nothing to do\n");
  if (!by_action.empty() && undone) {
    absl::FPrintF(out_,
                  "  rolled back: none of this was written\n");
  }
  for (const auto& [action, parts] : by_action) {
    absl::FPrintF(out_, "  %-12s %s\n",
                  ActionName(static_cast<v1::Action>(action)) + ":",
                  absl::StrJoin(parts, ", "));
  }
  // A check that failed or was cancelled found nothing worth reporting.
  if (finished.has_health() && !undone) {
    const v1::HealthSummary& h = finished.health();
    absl::FPrintF(out_,
                  "  health: %d missing settings, %d orphan metas, "
                  "%d disabled metas, %d inactive tenants with rows: %s\n",
                  h.missing_settings(), h.orphan_metas(), h.disabled_metas(),
                  h.inactive_tenants_with_rows(),
                  h.drift() ? "drift found" : "no drift");
  }
  if (!finished.error().empty()) {
    absl::FPrintF(out_, "  error: %s\n", Printable(finished.error()));
  }
  std::fflush(out_);
}

void PrintTenants(FILE* out, const v1::ListTenantsResponse& response) {
  int width = 24;
  for (const v1::Tenant& t : response.tenants()) {
    width = std::max(width, static_cast<int>(t.slug().size()));
  }
  absl::FPrintF(out, "%-*s %-8s %8s %9s  %-24s  %s\n", width, "SLUG",
                "ACTIVE", "METAS", "SETTINGS", "CREATED", "NAME");
  for (const v1::Tenant& t : response.tenants()) {
    std::vector<std::pair<std::string, std::string>> names(t.name().begin(),
                                                           t.name().end());
    std::sort(names.begin(), names.end());
    std::vector<std::string> shown;
    for (const auto& [locale, text] : names) {
      shown.push_back(absl::StrCat(locale, "=", Printable(text)));
    }
    absl::FPrintF(out, "%-*s %-8s %8d %9d  %-24s  %s\n", width, t.slug(),
                  t.active() ? "yes" : "no", t.meta_count(), t.setting_count(),
                  t.created_at(), absl::StrJoin(shown, " "));
  }
  if (!response.next_page_token().empty()) {
    absl::FPrintF(out, "(more: --page-token %s)\n",
                  response.next_page_token());
  }
}

namespace {
std::string CountsText(const v1::Run& run) {
  std::vector<std::string> parts;
  for (const v1::ActionCount& c : run.counts()) {
    if (c.action() == v1::ACTION_EXISTS) continue;
    parts.push_back(absl::StrCat(ActionName(c.action()), " ", c.count(), " ",
                                 KindName(c.kind())));
  }
  if (parts.empty()) return "-";
  // Only a committed run changed anything; the others rolled back.
  if (run.outcome() != v1::OUTCOME_COMMITTED) {
    return absl::StrCat("none (rolled back: ", absl::StrJoin(parts, ", "), ")");
  }
  return absl::StrJoin(parts, ", ");
}
}  // namespace

void PrintRuns(FILE* out, const v1::ListRunsResponse& response) {
  absl::FPrintF(out, "%-36s  %-13s %-11s %-4s %-24s  %s\n", "ID", "OPERATION",
                "OUTCOME", "DRY", "STARTED", "CHANGES");
  for (const v1::Run& run : response.runs()) {
    absl::FPrintF(out, "%-36s  %-13s %-11s %-4s %-24s  %s\n", run.id(),
                  OperationName(run.operation()), OutcomeName(run.outcome()),
                  run.dry_run() ? "yes" : "no", run.started_at(),
                  CountsText(run));
  }
  if (!response.next_page_token().empty()) {
    absl::FPrintF(out, "(more: --page-token %s)\n",
                  response.next_page_token());
  }
}

void PrintRun(FILE* out, const v1::Run& run) {
  absl::FPrintF(out, "id:            %s\n", run.id());
  absl::FPrintF(out, "operation:     %s\n", OperationName(run.operation()));
  absl::FPrintF(out, "parameters:    %s\n", Printable(run.params_json()));
  absl::FPrintF(out, "requested by:  %s\n", Printable(run.requested_by()));
  absl::FPrintF(out, "dry run:       %s\n", run.dry_run() ? "yes" : "no");
  absl::FPrintF(out, "started:       %s\n", run.started_at());
  absl::FPrintF(out, "finished:      %s\n",
                run.finished_at().empty() ? "-" : run.finished_at());
  absl::FPrintF(out, "outcome:       %s\n", OutcomeName(run.outcome()));
  for (const v1::ActionCount& c : run.counts()) {
    absl::FPrintF(out, "  %-12s %-8s %d\n", ActionName(c.action()),
                  KindName(c.kind()), c.count());
  }
  if (!run.error().empty()) {
    absl::FPrintF(out, "error:         %s\n", Printable(run.error()));
  }
}

}  // namespace syncadmin::client
