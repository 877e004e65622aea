"""Runs the example against a real syncd, and checks health and reflection.

scripts/test starts syncd (tests/clients/run-client-test python) and runs
this with Debian's interpreter:

    SYNCADMIN_ADDR=127.0.0.1:PORT /usr/bin/python3 -m unittest -v test_example

The servers' modules root is examples/modules. A second syncd serves mutual
TLS and wants a token: SYNCADMIN_TLS_ADDR, with SYNCADMIN_TLS_CA,
SYNCADMIN_TLS_CERT, SYNCADMIN_TLS_KEY and SYNCADMIN_TLS_TOKEN to reach it.
"""

import os
import subprocess
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "gen"))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from syncadmin.v1 import sync_admin_pb2 as pb  # noqa: E402
from syncadmin.v1 import sync_admin_pb2_grpc  # noqa: E402

ADDR = os.environ.get("SYNCADMIN_ADDR", "")
TLS = {name: os.environ.get("SYNCADMIN_TLS_" + name, "")
       for name in ("ADDR", "CA", "CERT", "KEY", "TOKEN")}
EXAMPLE = os.path.join(HERE, "example.py")
MODULES_DIR = os.path.join(HERE, "..", "..", "examples", "modules")


def module_names():
    """The modules of examples/modules, as syncd finds them."""
    return sorted(name for name in os.listdir(MODULES_DIR)
                  if os.path.isdir(os.path.join(MODULES_DIR, name))
                  and not name.startswith(("_", ".")))


def setUpModule():
    if not ADDR or not all(TLS.values()):
        raise RuntimeError("SYNCADMIN_ADDR or a SYNCADMIN_TLS_* variable is not set: "
                           "run through scripts/test (tests/clients/run-client-test python)")


class ExampleTest(unittest.TestCase):

    def setUp(self):
        self.channel = grpc.insecure_channel(ADDR)
        self.addCleanup(self.channel.close)

    def test_example_creates_a_tenant_and_syncs_it(self):
        tenant = "py-" + uuid.uuid4().hex[:8]
        run = subprocess.run(
            [sys.executable, os.path.join(HERE, "example.py"), "--addr", ADDR,
             "--tenant", tenant, "--name", "Python Example"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        lines = run.stdout.splitlines()
        self.assertEqual(lines[0], "health: SERVING")
        self.assertEqual(lines[1], "tenant %s created" % tenant)
        self.assertRegex(lines[2], r"^run [0-9a-f-]{36}: sync_all started \(\d+ modules, \d+ tenants\)$")
        self.assertRegex(lines[-1], r"^run [0-9a-f-]{36} committed in \d+ ms: ")

        created_metas = sorted(line.split()[-1] for line in lines
                               if line.split()[:2] == ["created", "meta"]
                               and line.split()[-1].startswith(tenant + "/"))
        self.assertEqual(created_metas, ["%s/%s" % (tenant, m) for m in module_names()])

        # The server agrees: the tenant has its metas, and its name.
        stub = sync_admin_pb2_grpc.SyncAdminStub(self.channel)
        tenants = stub.ListTenants(pb.ListTenantsRequest(), timeout=30).tenants
        mine = [t for t in tenants if t.slug == tenant]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].meta_count, len(module_names()))
        self.assertEqual(mine[0].name["en"], "Python Example")

        # Idempotent: a second run finds the tenant and creates nothing for it.
        again = subprocess.run(
            [sys.executable, os.path.join(HERE, "example.py"), "--addr", ADDR, "--tenant", tenant],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertIn("tenant %s exists already" % tenant, again.stdout)
        self.assertNotIn(" %s/" % tenant, again.stdout)

    def test_health_reports_serving(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        for service in ("", "syncadmin.v1.SyncAdmin"):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            self.assertEqual(response.status, health_pb2.HealthCheckResponse.SERVING, service)
        with self.assertRaises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        self.assertEqual(unknown.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_reflection_lists_syncadmin(self):
        reflection = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        responses = list(reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
        self.assertEqual(len(responses), 1)
        names = {s.name for s in responses[0].list_services_response.service}
        self.assertIn("syncadmin.v1.SyncAdmin", names)
        self.assertIn("grpc.health.v1.Health", names)

        # The server also describes the service, so tools need no .proto.
        described = list(reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="syncadmin.v1.SyncAdmin")]), timeout=10))
        self.assertTrue(described[0].file_descriptor_response.file_descriptor_proto)


class TlsExampleTest(unittest.TestCase):
    """The example against the syncd that wants client certificates and a token."""

    def run_example(self, *args, env=None):
        return subprocess.run([sys.executable, EXAMPLE, "--addr", TLS["ADDR"], *args],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, **(env or {})))

    def test_example_syncs_over_mutual_tls_with_a_token(self):
        tenant = "py-tls-" + uuid.uuid4().hex[:8]
        run = self.run_example("--tenant", tenant, "--tls-ca", TLS["CA"],
                               "--tls-cert", TLS["CERT"], "--tls-key", TLS["KEY"],
                               "--token", TLS["TOKEN"])
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        lines = run.stdout.splitlines()
        self.assertEqual(lines[0], "health: SERVING")
        self.assertEqual(lines[1], "tenant %s created" % tenant)
        self.assertRegex(lines[-1], r"^run [0-9a-f-]{36} committed in \d+ ms: ")

        # The same settings from syncctl's environment variables.
        again = self.run_example("--tenant", tenant, env={
            "SYNCCTL_TLS_CA": TLS["CA"], "SYNCCTL_TLS_CERT": TLS["CERT"],
            "SYNCCTL_TLS_KEY": TLS["KEY"], "SYNCCTL_TOKEN": TLS["TOKEN"]})
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertIn("tenant %s exists already" % tenant, again.stdout)
        self.assertRegex(again.stdout.splitlines()[-1], r"^run [0-9a-f-]{36} committed in ")

    def test_example_without_a_client_certificate_fails(self):
        run = self.run_example("--tenant", "py-tls-refused", "--tls-ca", TLS["CA"],
                               "--token", TLS["TOKEN"])
        self.assertNotEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertNotIn("committed", run.stdout)
        self.assertRegex(run.stderr, r"^error: ")

    def test_a_certificate_without_its_key_is_refused(self):
        for given in (["--tls-cert", TLS["CERT"]], ["--tls-key", TLS["KEY"]]):
            run = self.run_example("--tls-ca", TLS["CA"], *given)
            self.assertNotEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertIn("--tls-cert and --tls-key go together", run.stderr)
            self.assertEqual(run.stdout, "")


if __name__ == "__main__":
    unittest.main()
