#include "core/migrations.h"

namespace syncadmin::core {
namespace {

// Every tenant-scoped table's primary key starts with the tenant, so the
// schema can be distributed by tenant (for example with Citus) unchanged.
constexpr absl::string_view kInitialSchema = R"sql(
CREATE TABLE tenants (
  slug        text PRIMARY KEY
              CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name        jsonb NOT NULL DEFAULT '{}'::jsonb
              CHECK (jsonb_typeof(name) = 'object'),
  is_active   boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE module_meta (
  tenant          text NOT NULL REFERENCES tenants (slug),
  name            text NOT NULL
                  CHECK (name ~ '^[A-Za-z][A-Za-z0-9_-]{0,63}$'),
  label           jsonb NOT NULL DEFAULT '{}'::jsonb,
  icon            text NOT NULL DEFAULT 'box',
  roles           text[] NOT NULL DEFAULT '{admin}',
  enabled         boolean NOT NULL DEFAULT true,
  language        text NOT NULL DEFAULT 'en',
  version         text NOT NULL DEFAULT '1.0.0',
  "order"         integer NOT NULL DEFAULT 0,
  stats_key       text,
  history         jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_by_run  uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name)
);

CREATE TABLE module_settings (
  tenant              text NOT NULL,
  module              text NOT NULL,
  enabled             boolean NOT NULL DEFAULT true,
  visible_in_sidebar  boolean NOT NULL DEFAULT true,
  use_analytics       boolean NOT NULL DEFAULT false,
  show_in_dashboard   boolean NOT NULL DEFAULT true,
  roles               text[] NOT NULL DEFAULT '{admin}',
  "order"             integer NOT NULL DEFAULT 0,
  seo_title           jsonb NOT NULL DEFAULT '{}'::jsonb,
  seo_description     jsonb NOT NULL DEFAULT '{}'::jsonb,
  seo_summary         jsonb NOT NULL DEFAULT '{}'::jsonb,
  seo_og_image        text NOT NULL DEFAULT '',
  created_by_run      uuid,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, module),
  FOREIGN KEY (tenant, module) REFERENCES module_meta (tenant, name)
);

CREATE TABLE sync_runs (
  id               uuid PRIMARY KEY,
  op               text NOT NULL,
  params           jsonb NOT NULL DEFAULT '{}'::jsonb,
  requested_by     text NOT NULL,
  dry_run          boolean NOT NULL DEFAULT false,
  started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at      timestamptz,
  outcome          text NOT NULL DEFAULT 'running'
                   CHECK (outcome IN ('running', 'committed', 'rolled_back',
                                      'failed', 'cancelled')),
  counts           jsonb NOT NULL DEFAULT '{}'::jsonb,
  error            text NOT NULL DEFAULT '',
  backend_pid      integer,
  backend_started  timestamptz
);
CREATE INDEX sync_runs_by_start ON sync_runs (started_at DESC, id DESC);
CREATE INDEX sync_runs_running ON sync_runs (backend_pid)
  WHERE outcome = 'running';

CREATE TABLE sync_archive (
  run_id       uuid NOT NULL,
  seq          bigint GENERATED ALWAYS AS IDENTITY,
  tenant       text NOT NULL,
  "table"      text NOT NULL
               CHECK ("table" IN ('tenants', 'module_meta', 'module_settings')),
  "row"        jsonb NOT NULL,
  archived_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);
)sql";

}  // namespace

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema", kInitialSchema},
  };
  return kMigrations;
}

}  // namespace syncadmin::core
