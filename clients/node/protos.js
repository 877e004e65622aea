// Loads the SyncAdmin, health and reflection services from their .proto
// files at run time (@grpc/proto-loader): nothing is generated, and the
// repository's proto/ stays the single source of truth.
//
// The options keep field names as in the .proto (snake_case), enums as
// their names, and 64-bit integers as strings, so that what a Node program
// sees matches the other clients and `syncctl -o json` field for field.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const REPO_PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
// Debian's grpc-proto package; GRPC_PROTO_DIR points elsewhere if needed.
const GRPC_PROTO_DIR = process.env.GRPC_PROTO_DIR || '/usr/share/grpc-proto';

const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [REPO_PROTO_DIR, GRPC_PROTO_DIR],
};

function load(file) {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, LOADER_OPTIONS));
}

const syncadmin = load('syncadmin/v1/sync_admin.proto').syncadmin.v1;
const health = load('grpc/health/v1/health.proto').grpc.health.v1;
const reflection = load('grpc/reflection/v1alpha/reflection.proto').grpc.reflection.v1alpha;

module.exports = { grpc, syncadmin, health, reflection };
