#!/usr/bin/env node
// Creates a tenant, runs SyncAll and prints its progress, item by item.
//
//   npm ci                      # once, in clients/node (or scripts/gen-clients node)
//   node example.js --addr 127.0.0.1:50051 --tenant acme --name "Acme Corp"
//
// Against a syncd that serves TLS, add --tls-ca (and --tls-cert and --tls-key
// if it wants client certificates), as with syncctl.
//
// Exits 0 when the run committed, 1 otherwise.
'use strict';

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { grpc, syncadmin, health } = require('./protos');

const SERVICE = 'syncadmin.v1.SyncAdmin';

// "ACTION_WOULD_CREATE" -> "would_create", as syncctl prints it.
const short = (name, prefix) => name.slice(prefix.length).toLowerCase();

// TLS if any --tls-* option is given, else plaintext (which syncd allows on
// loopback only). Without --tls-ca, syncd is verified with Node's root CAs.
function channel(args) {
  if (!args['tls-cert'] !== !args['tls-key']) {
    throw new Error('--tls-cert and --tls-key go together: give both or neither');
  }
  if (!args['tls-ca'] && !args['tls-cert'] && !args['tls-server-name']) {
    return { credentials: grpc.credentials.createInsecure(), options: {} };
  }
  const read = (file) => (file ? fs.readFileSync(file) : null);
  const credentials = grpc.credentials.createSsl(
    read(args['tls-ca']), read(args['tls-key']), read(args['tls-cert']));
  const options = args['tls-server-name']
    ? { 'grpc.ssl_target_name_override': args['tls-server-name'] } : {};
  return { credentials, options };
}

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 30_000);
    client[method](request, metadata, { deadline }, (err, response) =>
      err ? reject(err) : resolve(response));
  });
}

function syncAll(client, metadata) {
  return new Promise((resolve, reject) => {
    let outcome = 'OUTCOME_UNSPECIFIED';
    const call = client.SyncAll({}, metadata, { deadline: new Date(Date.now() + 300_000) });
    call.on('data', (event) => {
      switch (event.event) {
        case 'run_started': {
          const s = event.run_started;
          console.log(`run ${s.run_id}: ${short(s.operation, 'OPERATION_')} started ` +
                      `(${s.module_count} modules, ${s.tenant_count} tenants)`);
          break;
        }
        case 'phase_started':
          console.log(`phase ${event.phase_started.name} (${event.phase_started.total} candidates)`);
          break;
        case 'items':
          for (const item of event.items.items) {
            console.log(`  ${short(item.action, 'ACTION_').padEnd(12)} ` +
                        `${short(item.kind, 'KIND_').padEnd(7)} ${item.tenant}/${item.module}`);
          }
          break;
        case 'run_finished': {
          const f = event.run_finished;
          outcome = f.outcome;
          const counts = f.counts.map((c) =>
            `${short(c.action, 'ACTION_')} ${c.count} ${short(c.kind, 'KIND_')}`).join(', ');
          console.log(`run ${event.run_id} ${short(f.outcome, 'OUTCOME_')} in ` +
                      `${f.duration_ms} ms: ${counts || 'nothing to do'}`);
          break;
        }
        default:
          break;
      }
    });
    call.on('error', reject);
    call.on('end', () => resolve(outcome));
  });
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      addr: { type: 'string', default: process.env.SYNCCTL_ADDR || '127.0.0.1:50051' },
      tenant: { type: 'string', default: 'acme' },
      name: { type: 'string' },
      token: { type: 'string', default: process.env.SYNCCTL_TOKEN || '' },
      // The same TLS options, and environment variables, as syncctl's.
      'tls-ca': { type: 'string', default: process.env.SYNCCTL_TLS_CA || '' },
      'tls-cert': { type: 'string', default: process.env.SYNCCTL_TLS_CERT || '' },
      'tls-key': { type: 'string', default: process.env.SYNCCTL_TLS_KEY || '' },
      'tls-server-name': { type: 'string', default: process.env.SYNCCTL_TLS_SERVER_NAME || '' },
    },
  });
  const { credentials, options } = channel(args);
  // Bearer tokens go in the metadata of each call.
  const metadata = new grpc.Metadata();
  if (args.token) metadata.set('authorization', `Bearer ${args.token}`);

  // 1. Is the server up, and does it reach its database?
  const healthClient = new health.Health(args.addr, credentials, options);
  const status = await unary(healthClient, 'Check', { service: SERVICE }, new grpc.Metadata());
  healthClient.close();
  console.log(`health: ${status.status}`);
  if (status.status !== 'SERVING') return 1;

  const client = new syncadmin.SyncAdmin(args.addr, credentials, options);
  try {
    // 2. Register the tenant; one that exists already is fine.
    const request = { slug: args.tenant, name: args.name ? { en: args.name } : {} };
    try {
      await unary(client, 'CreateTenant', request, metadata);
      console.log(`tenant ${args.tenant} created`);
    } catch (err) {
      if (err.code !== grpc.status.ALREADY_EXISTS) throw err;
      console.log(`tenant ${args.tenant} exists already`);
    }

    // 3. Sync everything and print each event as it streams in.
    const outcome = await syncAll(client, metadata);
    return outcome === 'OUTCOME_COMMITTED' ? 0 : 1;
  } finally {
    client.close();
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => {
    // gRPC errors carry a numeric status; others (a bad option, an unreadable
    // --tls-* file) have only a message.
    const code = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code);
    console.error(code ? `error: ${code}: ${err.details}` : `error: ${err.message}`);
    process.exitCode = 1;
  });
