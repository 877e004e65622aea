#include "core/types.h"

#include <array>

#include "nlohmann/json.hpp"

namespace syncadmin::core {
namespace {

constexpr std::array<std::pair<Operation, absl::string_view>, 8> kOperations = {{
    {Operation::kSeedMeta, "seed_meta"},
    {Operation::kSeedSettings, "seed_settings"},
    {Operation::kHealthCheck, "health_check"},
    {Operation::kSeedTenant, "seed_tenant"},
    {Operation::kSeedModule, "seed_module"},
    {Operation::kRemoveTenant, "remove_tenant"},
    {Operation::kSyncAll, "sync_all"},
    {Operation::kRestore, "restore"},
}};

constexpr std::array<std::pair<Action, absl::string_view>, 7> kActions = {{
    {Action::kCreated, "created"},
    {Action::kExists, "exists"},
    {Action::kDeleted, "deleted"},
    {Action::kSkipped, "skipped"},
    {Action::kFailed, "failed"},
    {Action::kWouldCreate, "would_create"},
    {Action::kWouldDelete, "would_delete"},
}};

constexpr std::array<std::pair<Kind, absl::string_view>, 3> kKinds = {{
    {Kind::kTenant, "tenant"},
    {Kind::kMeta, "meta"},
    {Kind::kSetting, "setting"},
}};

constexpr std::array<std::pair<Outcome, absl::string_view>, 5> kOutcomes = {{
    {Outcome::kCommitted, "committed"},
    {Outcome::kRolledBack, "rolled_back"},
    {Outcome::kFailed, "failed"},
    {Outcome::kCancelled, "cancelled"},
    {Outcome::kRunning, "running"},
}};

template <typename E, size_t N>
absl::string_view NameOf(const std::array<std::pair<E, absl::string_view>, N>& t,
                        E value) {
  for (const auto& [v, name] : t) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> ValueOf(
    const std::array<std::pair<E, absl::string_view>, N>& t,
    absl::string_view name) {
  for (const auto& [v, n] : t) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

absl::string_view OperationName(Operation op) { return NameOf(kOperations, op); }
absl::string_view ActionName(Action action) { return NameOf(kActions, action); }
absl::string_view KindName(Kind kind) { return NameOf(kKinds, kind); }
absl::string_view OutcomeName(Outcome outcome) {
  return NameOf(kOutcomes, outcome);
}

std::optional<Operation> ParseOperationName(absl::string_view name) {
  return ValueOf(kOperations, name);
}

std::optional<Outcome> ParseOutcomeName(absl::string_view name) {
  return ValueOf(kOutcomes, name);
}

void Counts::Add(Action action, Kind kind, uint64_t n) {
  if (n == 0) return;
  entries_[{action, kind}] += n;
}

void Counts::Merge(const Counts& other) {
  for (const auto& [key, n] : other.entries_) entries_[key] += n;
}

uint64_t Counts::Get(Action action, Kind kind) const {
  auto it = entries_.find({action, kind});
  return it == entries_.end() ? 0 : it->second;
}

uint64_t Counts::Total(Action action) const {
  uint64_t total = 0;
  for (const auto& [key, n] : entries_) {
    if (key.first == action) total += n;
  }
  return total;
}

std::string Counts::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, n] : entries_) {
    out[std::string(ActionName(key.first))][std::string(KindName(key.second))] =
        n;
  }
  return out.dump();
}

Counts Counts::FromJson(absl::string_view json) {
  Counts counts;
  nlohmann::json in = nlohmann::json::parse(json, nullptr, false);
  if (!in.is_object()) return counts;
  for (const auto& [action_name, kinds] : in.items()) {
    auto action = ValueOf(kActions, action_name);
    if (!action || !kinds.is_object()) continue;
    for (const auto& [kind_name, n] : kinds.items()) {
      auto kind = ValueOf(kKinds, kind_name);
      if (kind && n.is_number_unsigned()) {
        counts.Add(*action, *kind, n.get<uint64_t>());
      }
    }
  }
  return counts;
}

}  // namespace syncadmin::core
