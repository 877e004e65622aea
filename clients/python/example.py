#!/usr/bin/python3
"""Creates a tenant, runs SyncAll and prints its progress, item by item.

Run `scripts/gen-clients python` first; it writes the stubs into gen/. Use
Debian's interpreter (/usr/bin/python3): python3-grpcio and python3-protobuf
are installed for it alone.

    /usr/bin/python3 clients/python/example.py --addr 127.0.0.1:50051 \
        --tenant acme --name "Acme Corp"

Against a syncd that serves TLS, add --tls-ca (and --tls-cert and --tls-key
if it wants client certificates), as with syncctl.

Exits 0 when the run committed, 1 otherwise.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from syncadmin.v1 import sync_admin_pb2 as pb  # noqa: E402
from syncadmin.v1 import sync_admin_pb2_grpc  # noqa: E402

SERVICE = "syncadmin.v1.SyncAdmin"


def short(enum, value, prefix):
    """ACTION_WOULD_CREATE -> would_create, as syncctl prints it."""
    return enum.Name(value)[len(prefix):].lower()


def read(path):
    """The bytes of a PEM file, or None for an option not given."""
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def open_channel(args):
    """TLS if any --tls-* option is given, else plaintext (which syncd allows on loopback only)."""
    if not (args.tls_ca or args.tls_cert or args.tls_server_name):
        return grpc.insecure_channel(args.addr)
    # Without --tls-ca, gRPC verifies syncd with its default root CAs.
    credentials = grpc.ssl_channel_credentials(root_certificates=read(args.tls_ca),
                                               private_key=read(args.tls_key),
                                               certificate_chain=read(args.tls_cert))
    options = []
    if args.tls_server_name:
        options.append(("grpc.ssl_target_name_override", args.tls_server_name))
    return grpc.secure_channel(args.addr, credentials, options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default=os.environ.get("SYNCCTL_ADDR", "127.0.0.1:50051"),
                        help="syncd address, HOST:PORT (default: $SYNCCTL_ADDR)")
    parser.add_argument("--tenant", default="acme", help="slug of the tenant to create")
    parser.add_argument("--name", help="display name of the tenant (English)")
    parser.add_argument("--token", default=os.environ.get("SYNCCTL_TOKEN"),
                        help="bearer token, if syncd wants one (default: $SYNCCTL_TOKEN)")
    # The same TLS options, and environment variables, as syncctl's.
    parser.add_argument("--tls-ca", default=os.environ.get("SYNCCTL_TLS_CA"),
                        help="PEM CA certificates to verify syncd with (default: $SYNCCTL_TLS_CA)")
    parser.add_argument("--tls-cert", default=os.environ.get("SYNCCTL_TLS_CERT"),
                        help="PEM client certificate, for mutual TLS (default: $SYNCCTL_TLS_CERT)")
    parser.add_argument("--tls-key", default=os.environ.get("SYNCCTL_TLS_KEY"),
                        help="PEM key of --tls-cert (default: $SYNCCTL_TLS_KEY)")
    parser.add_argument("--tls-server-name", default=os.environ.get("SYNCCTL_TLS_SERVER_NAME"),
                        help="name syncd's certificate must carry, if not the host of --addr "
                             "(default: $SYNCCTL_TLS_SERVER_NAME)")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together: give both or neither")

    # Bearer tokens go in the metadata of each call.
    metadata = [("authorization", "Bearer " + args.token)] if args.token else []

    with open_channel(args) as channel:
        # 1. Is the server up, and does it reach its database?
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=10)
        print("health:", health_pb2.HealthCheckResponse.ServingStatus.Name(status.status))
        if status.status != health_pb2.HealthCheckResponse.SERVING:
            return 1

        stub = sync_admin_pb2_grpc.SyncAdminStub(channel)

        # 2. Register the tenant; one that exists already is fine.
        request = pb.CreateTenantRequest(slug=args.tenant)
        if args.name:
            request.name["en"] = args.name
        try:
            stub.CreateTenant(request, timeout=30, metadata=metadata)
            print("tenant %s created" % args.tenant)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            print("tenant %s exists already" % args.tenant)

        # 3. Sync everything and print each event as it streams in.
        outcome = pb.OUTCOME_UNSPECIFIED
        for event in stub.SyncAll(pb.SyncAllRequest(), timeout=300, metadata=metadata):
            kind = event.WhichOneof("event")
            if kind == "run_started":
                s = event.run_started
                print("run %s: %s started (%d modules, %d tenants)" % (
                    s.run_id, short(pb.Operation, s.operation, "OPERATION_"),
                    s.module_count, s.tenant_count))
            elif kind == "phase_started":
                print("phase %s (%d candidates)" % (event.phase_started.name,
                                                     event.phase_started.total))
            elif kind == "items":
                for item in event.items.items:
                    print("  %-12s %-7s %s/%s" % (
                        short(pb.Action, item.action, "ACTION_"),
                        short(pb.Kind, item.kind, "KIND_"), item.tenant, item.module))
            elif kind == "run_finished":
                f = event.run_finished
                outcome = f.outcome
                counts = ", ".join("%s %d %s" % (short(pb.Action, c.action, "ACTION_"), c.count,
                                                 short(pb.Kind, c.kind, "KIND_"))
                                   for c in f.counts)
                print("run %s %s in %d ms: %s" % (
                    event.run_id, short(pb.Outcome, f.outcome, "OUTCOME_"),
                    f.duration_ms, counts or "nothing to do"))
    return 0 if outcome == pb.OUTCOME_COMMITTED else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print("error: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        sys.exit(1)
    except OSError as e:  # an unreadable --tls-* file
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
