#include "client/json_output.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "client/output.h"

namespace syncadmin::client {
namespace {

Json Base(const char* event, const v1::SyncEvent& e) {
  Json line = Json::object();
  line["event"] = event;
  line["run_id"] = e.run_id();
  line["sequence"] = e.sequence();
  return line;
}

Json CountsJson(
    const google::protobuf::RepeatedPtrField<v1::ActionCount>& counts) {
  Json list = Json::array();
  for (const v1::ActionCount& c : counts) {
    list.push_back(Json{{"action", ActionName(c.action())},
                        {"kind", KindName(c.kind())},
                        {"count", c.count()}});
  }
  return list;
}

}  // namespace

void WriteJsonLine(FILE* out, const Json& value) {
  std::string text =
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), out);
}

void JsonEventPrinter::Print(const v1::SyncEvent& event) {
  switch (event.event_case()) {
    case v1::SyncEvent::kRunStarted: {
      const v1::RunStarted& s = event.run_started();
      Json line = Base("run_started", event);
      line["operation"] = OperationName(s.operation());
      line["dry_run"] = s.dry_run();
      line["requested_by"] = s.requested_by();
      line["module_count"] = s.module_count();
      line["tenant_count"] = s.tenant_count();
      WriteJsonLine(out_, line);
      std::fflush(out_);
      break;
    }
    case v1::SyncEvent::kPhaseStarted: {
      Json line = Base("phase_started", event);
      line["phase"] = event.phase_started().name();
      line["total"] = event.phase_started().total();
      WriteJsonLine(out_, line);
      std::fflush(out_);
      break;
    }
    case v1::SyncEvent::kItems:
      for (const v1::Item& item : event.items().items()) {
        Json line = Base("item", event);
        line["action"] = ActionName(item.action());
        line["kind"] = KindName(item.kind());
        line["tenant"] = item.tenant();
        line["module"] = item.module();
        line["message"] = item.message();
        WriteJsonLine(out_, line);
      }
      break;
    case v1::SyncEvent::kRunFinished: {
      const v1::RunFinished& f = event.run_finished();
      Json line = Base("run_finished", event);
      line["outcome"] = OutcomeName(f.outcome());
      line["duration_ms"] = f.duration_ms();
      line["counts"] = CountsJson(f.counts());
      line["error"] = f.error();
      if (f.has_health()) {
        const v1::HealthSummary& h = f.health();
        line["health"] =
            Json{{"missing_settings", h.missing_settings()},
                 {"orphan_metas", h.orphan_metas()},
                 {"disabled_metas", h.disabled_metas()},
                 {"inactive_tenants_with_rows", h.inactive_tenants_with_rows()},
                 {"drift", h.drift()}};
      }
      WriteJsonLine(out_, line);
      std::fflush(out_);
      break;
    }
    case v1::SyncEvent::EVENT_NOT_SET:
      break;
  }
}

Json TenantJson(const v1::Tenant& tenant) {
  // Locales sorted, so that the output is the same on every call.
  std::map<std::string, std::string> names(tenant.name().begin(),
                                           tenant.name().end());
  Json name = Json::object();
  for (const auto& [locale, text] : names) name[locale] = text;
  return Json{{"slug", tenant.slug()},
              {"name", std::move(name)},
              {"active", tenant.active()},
              {"created_at", tenant.created_at()},
              {"updated_at", tenant.updated_at()},
              {"meta_count", tenant.meta_count()},
              {"setting_count", tenant.setting_count()}};
}

Json RunJson(const v1::Run& run) {
  // The parameters are JSON already; keep them as an object when they parse.
  Json params = Json::parse(run.params_json(), nullptr,
                            /*allow_exceptions=*/false);
  if (params.is_discarded()) params = run.params_json();
  return Json{{"id", run.id()},
              {"operation", OperationName(run.operation())},
              {"params", std::move(params)},
              {"requested_by", run.requested_by()},
              {"dry_run", run.dry_run()},
              {"started_at", run.started_at()},
              {"finished_at", run.finished_at()},
              {"outcome", OutcomeName(run.outcome())},
              {"counts", CountsJson(run.counts())},
              {"error", run.error()}};
}

Json TenantsJson(const v1::ListTenantsResponse& response) {
  Json tenants = Json::array();
  for (const v1::Tenant& t : response.tenants())
    tenants.push_back(TenantJson(t));
  return Json{{"tenants", std::move(tenants)},
              {"next_page_token", response.next_page_token()}};
}

Json RunsJson(const v1::ListRunsResponse& response) {
  Json runs = Json::array();
  for (const v1::Run& r : response.runs()) runs.push_back(RunJson(r));
  return Json{{"runs", std::move(runs)},
              {"next_page_token", response.next_page_token()}};
}

Json ErrorJson(const std::string& code, const std::string& message) {
  return Json{{"event", "error"}, {"code", code}, {"message", message}};
}

}  // namespace syncadmin::client
