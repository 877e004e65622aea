// Runs the example against a real syncd, and checks health and reflection.
// scripts/test starts syncd (tests/clients/run-client-test node) and sets
// SYNCADMIN_ADDR; the servers' modules root is examples/modules. A second
// syncd serves mutual TLS and wants a token: SYNCADMIN_TLS_ADDR, with
// SYNCADMIN_TLS_CA, SYNCADMIN_TLS_CERT, SYNCADMIN_TLS_KEY and
// SYNCADMIN_TLS_TOKEN to reach it.
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { before, test } = require('node:test');
const { grpc, syncadmin, health, reflection } = require('../protos');

const ADDR = process.env.SYNCADMIN_ADDR || '';
const TLS = Object.fromEntries(['ADDR', 'CA', 'CERT', 'KEY', 'TOKEN']
  .map((name) => [name, process.env[`SYNCADMIN_TLS_${name}`] || '']));
const EXAMPLE = path.join(__dirname, '..', 'example.js');
const MODULES_DIR = path.join(__dirname, '..', '..', '..', 'examples', 'modules');

before(() => {
  assert.ok(ADDR && Object.values(TLS).every(Boolean),
    'SYNCADMIN_ADDR or a SYNCADMIN_TLS_* variable is not set: run through scripts/test ' +
    '(tests/clients/run-client-test node)');
});

// The modules of examples/modules, as syncd finds them.
function moduleNames() {
  return fs.readdirSync(MODULES_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('_') && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function runExample(args, { addr = ADDR, env = {} } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [EXAMPLE, '--addr', addr, ...args],
      { timeout: 120_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: new Date(Date.now() + 10_000) },
      (err, response) => (err ? reject(err) : resolve(response)));
  });
}

test('the example creates a tenant and syncs it', async () => {
  const tenant = `js-${crypto.randomBytes(4).toString('hex')}`;
  const run = await runExample(['--tenant', tenant, '--name', 'Node Example']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'health: SERVING');
  assert.equal(lines[1], `tenant ${tenant} created`);
  assert.match(lines[2], /^run [0-9a-f-]{36}: sync_all started \(\d+ modules, \d+ tenants\)$/);
  assert.match(lines.at(-1), /^run [0-9a-f-]{36} committed in \d+ ms: /);

  const createdMetas = lines
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[0] === 'created' && f[1] === 'meta' && f[2].startsWith(`${tenant}/`))
    .map((f) => f[2])
    .sort();
  assert.deepEqual(createdMetas, moduleNames().map((m) => `${tenant}/${m}`));

  // The server agrees: the tenant has its metas, and its name.
  const client = new syncadmin.SyncAdmin(ADDR, grpc.credentials.createInsecure());
  try {
    const { tenants } = await call(client, 'ListTenants', {});
    const mine = tenants.filter((t) => t.slug === tenant);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].meta_count, String(moduleNames().length));  // uint64 as string
    assert.equal(mine[0].name.en, 'Node Example');
  } finally {
    client.close();
  }

  // Idempotent: a second run finds the tenant and creates nothing for it.
  const again = await runExample(['--tenant', tenant]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.ok(again.stdout.includes(`tenant ${tenant} exists already`), again.stdout);
  assert.ok(!again.stdout.includes(` ${tenant}/`), again.stdout);
});

test('health reports SERVING', async () => {
  const client = new health.Health(ADDR, grpc.credentials.createInsecure());
  try {
    for (const service of ['', 'syncadmin.v1.SyncAdmin']) {
      const response = await call(client, 'Check', { service });
      assert.equal(response.status, 'SERVING', service);
    }
    await assert.rejects(call(client, 'Check', { service: 'no.such.Service' }),
      (err) => err.code === grpc.status.NOT_FOUND);
  } finally {
    client.close();
  }
});

test('server reflection lists SyncAdmin', async () => {
  const client = new reflection.ServerReflection(ADDR, grpc.credentials.createInsecure());
  try {
    const responses = await new Promise((resolve, reject) => {
      const got = [];
      const stream = client.ServerReflectionInfo({ deadline: new Date(Date.now() + 10_000) });
      stream.on('data', (r) => got.push(r));
      stream.on('error', reject);
      stream.on('end', () => resolve(got));
      stream.write({ list_services: '' });
      stream.end();
    });
    assert.equal(responses.length, 1);
    const names = responses[0].list_services_response.service.map((s) => s.name);
    assert.ok(names.includes('syncadmin.v1.SyncAdmin'), names.join(', '));
    assert.ok(names.includes('grpc.health.v1.Health'), names.join(', '));
  } finally {
    client.close();
  }
});

test('the example syncs over mutual TLS with a token', async () => {
  const tenant = `js-tls-${crypto.randomBytes(4).toString('hex')}`;
  const run = await runExample(['--tenant', tenant, '--tls-ca', TLS.CA, '--tls-cert', TLS.CERT,
    '--tls-key', TLS.KEY, '--token', TLS.TOKEN], { addr: TLS.ADDR });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'health: SERVING');
  assert.equal(lines[1], `tenant ${tenant} created`);
  assert.match(lines.at(-1), /^run [0-9a-f-]{36} committed in \d+ ms: /);

  // The same settings from syncctl's environment variables.
  const again = await runExample(['--tenant', tenant], {
    addr: TLS.ADDR,
    env: { SYNCCTL_TLS_CA: TLS.CA, SYNCCTL_TLS_CERT: TLS.CERT, SYNCCTL_TLS_KEY: TLS.KEY,
           SYNCCTL_TOKEN: TLS.TOKEN },
  });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.ok(again.stdout.includes(`tenant ${tenant} exists already`), again.stdout);
  assert.match(again.stdout.trimEnd().split('\n').at(-1), /^run [0-9a-f-]{36} committed in /);
});

test('the example fails without a client certificate', async () => {
  const run = await runExample(['--tenant', 'js-tls-refused', '--tls-ca', TLS.CA,
    '--token', TLS.TOKEN], { addr: TLS.ADDR });
  assert.notEqual(run.code, 0, run.stdout + run.stderr);
  assert.ok(!run.stdout.includes('committed'), run.stdout);
  assert.match(run.stderr, /^error: /m);
});

test('a certificate without its key is refused', async () => {
  for (const given of [['--tls-cert', TLS.CERT], ['--tls-key', TLS.KEY]]) {
    const run = await runExample(['--tls-ca', TLS.CA, ...given], { addr: TLS.ADDR });
    assert.notEqual(run.code, 0, run.stdout + run.stderr);
    assert.ok(run.stderr.includes('--tls-cert and --tls-key go together'), run.stderr);
    assert.equal(run.stdout, '');
  }
});
