#!/usr/bin/env python3
"""What the schemas cannot see in the rendered manifests: that the objects fit
together, fit the daemons, and keep the promises deploy/k8s/README.md makes.

  checks.py SOURCE_DIR RENDER_DIR

RENDER_DIR holds one `kubectl kustomize` output per overlay, NAME.yaml.
Every finding names the overlay, the object and what is wrong. Before
checking, the script breaks copies of the objects in known ways and fails
unless each break is found (a check that cannot fail proves nothing).
"""
import copy
import json
import pathlib
import re
import sys

import yaml

DAEMONS = {
    # container name -> (config key in its ConfigMap, main source, default metrics port)
    "coordinator": ("coordinator.yaml", "coordinator/daemon/coordinator_main.cc", 9400),
    "worker": ("worker.yaml", "worker/daemon/worker_main.cc", 9401),
}
MARGIN_S = 10  # terminationGracePeriodSeconds beyond the daemon's own waits
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def duration_s(text):
    """'15s', '2m', '1m30s', '500ms' -> seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def known_flags(src, main):
    """The names a daemon's --config accepts: its Flags() list plus the
    security flags, read from the sources so that a renamed flag shows."""
    def literals(path, start):
        text = (src / path).read_text()
        i = text.find(start)
        j = text.find("return names;", i)
        if i < 0 or j < 0:
            sys.exit(f"checks.py: cannot find `{start}` ... `return names;` in {path}")
        return set(re.findall(r'"([a-z_]+)"', text[i:j]))
    names = literals(main, "std::vector<std::string> Flags()")
    names |= literals("common/rpc/security_flags.cc", "SecurityFlagNames()")
    return names | {"config"}


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


class Render:
    def __init__(self, name, objects):
        self.name = name
        self.objects = objects

    def of(self, kind):
        return [o for o in self.objects if o.get("kind") == kind]

    def named(self, kind, name):
        return next((o for o in self.of(kind) if o["metadata"]["name"] == name), None)

    def workloads(self):
        return [o for o in self.objects if o.get("kind") in POD_KINDS]

    def pods_matching(self, selector):
        return [w for w in self.workloads()
                if labels_match(selector, w["spec"]["template"]["metadata"].get("labels", {}))]


def container(workload, name):
    spec = workload["spec"]["template"]["spec"]
    return next((c for c in spec.get("containers", []) if c["name"] == name), None)


def port_named(pod_spec, name):
    for c in pod_spec.get("containers", []):
        for p in c.get("ports", []):
            if p.get("name") == name:
                return p["containerPort"]
    return None


def arg_flags(args):
    """--name=value args -> {name: value}."""
    out = {}
    for a in args or []:
        m = re.fullmatch(r"--([a-z_-]+)(?:=(.*))?", a)
        if m:
            out[m.group(1).replace("-", "_")] = m.group(2) if m.group(2) is not None else "true"
    return out


def check(r, src, extra):
    """Returns the findings for one render; `extra` holds the base render's
    objects for overlays (monitoring) that point into another."""
    bad = []

    def say(obj, text):
        bad.append(f"{r.name}: {obj.get('kind')}/{obj['metadata']['name']}: {text}")

    everything = Render(r.name, r.objects + extra)
    namespaces = {n["metadata"]["name"]: n for n in r.of("Namespace")}

    # -- References between objects -------------------------------------
    for svc in r.of("Service"):
        pods = r.pods_matching(svc["spec"].get("selector"))
        if not pods:
            say(svc, "its selector matches no pod template")
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            for w in pods:
                spec = w["spec"]["template"]["spec"]
                if isinstance(target, str) and port_named(spec, target) is None:
                    say(svc, f"targetPort {target} is no port of {w['metadata']['name']}")
    for sts in r.of("StatefulSet"):
        svc = r.named("Service", sts["spec"].get("serviceName"))
        if svc is None or svc["spec"].get("clusterIP") != "None":
            say(sts, f"serviceName {sts['spec'].get('serviceName')} is not a headless Service here")
    for obj in r.of("PodDisruptionBudget") + r.of("NetworkPolicy"):
        sel = obj["spec"].get("selector") or obj["spec"].get("podSelector") or {}
        pods = r.pods_matching(sel.get("matchLabels"))
        if not pods:
            say(obj, "selects no pod")
        for rule in obj["spec"].get("ingress", []) if obj["kind"] == "NetworkPolicy" else []:
            for p in rule.get("ports", []):
                for w in pods:
                    if isinstance(p.get("port"), str) and \
                            port_named(w["spec"]["template"]["spec"], p["port"]) is None:
                        say(obj, f"port {p['port']} is no port of {w['metadata']['name']}")
    for w in r.workloads():
        for v in w["spec"]["template"]["spec"].get("volumes", []):
            for kind, key, field in (("ConfigMap", "configMap", "name"),
                                     ("Secret", "secret", "secretName"),
                                     ("PersistentVolumeClaim", "persistentVolumeClaim", "claimName")):
                if key in v and everything.named(kind, v[key][field]) is None:
                    say(w, f"volume {v['name']}: no {kind} {v[key][field]} in this render")
            ed = v.get("emptyDir")
            if ed is not None and "sizeLimit" not in ed:
                say(w, f"volume {v['name']}: an emptyDir without sizeLimit can fill the node")
    for sm in r.of("ServiceMonitor"):
        svcs = [s for s in everything.of("Service")
                if labels_match(sm["spec"]["selector"].get("matchLabels"), s["metadata"].get("labels", {}))]
        if not svcs:
            say(sm, "selects no Service of the base")
        for e in sm["spec"]["endpoints"]:
            for s in svcs:
                if e.get("port") not in [p.get("name") for p in s["spec"]["ports"]]:
                    say(sm, f"Service {s['metadata']['name']} has no port named {e.get('port')}")

    # -- Pod hardening ---------------------------------------------------
    for w in r.workloads():
        spec = w["spec"]["template"]["spec"]
        psc = spec.get("securityContext", {})
        ns = namespaces.get(w["metadata"].get("namespace"))
        level = (ns or {}).get("metadata", {}).get("labels", {}).get(
            "pod-security.kubernetes.io/enforce", "privileged")
        if spec.get("automountServiceAccountToken") is not False:
            say(w, "mounts an API token the daemons never use")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            say(w, "no RuntimeDefault seccomp profile")
        if level == "restricted" and spec.get("hostNetwork"):
            say(w, "hostNetwork in a namespace that enforces `restricted`")
        for v in spec.get("volumes", []):
            # Secret files belong to root: a non-root daemon reads them through
            # fsGroup, and nobody else may.
            mode = v.get("secret", {}).get("defaultMode", 0o644)
            if "secret" in v and (mode & 0o007 or not mode & 0o040 or "fsGroup" not in psc):
                say(w, f"volume {v['name']}: secret mode {mode:o} with fsGroup "
                       f"{psc.get('fsGroup')}: want group-readable (fsGroup), not world-readable")
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            sc = c.get("securityContext", {})
            caps = sc.get("capabilities", {})
            added = set(caps.get("add", []))
            root = sc.get("runAsUser", psc.get("runAsUser")) == 0
            nonroot = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            where = f"container {c['name']}"
            if caps.get("drop") != ["ALL"]:
                say(w, f"{where}: does not drop ALL capabilities")
            if sc.get("allowPrivilegeEscalation") is not False:
                say(w, f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                say(w, f"{where}: root file system is writable")
            if added - {"IPC_LOCK"}:
                say(w, f"{where}: adds capabilities {sorted(added - {'IPC_LOCK'})}")
            if root or not nonroot:
                # Root only to hold IPC_LOCK (rdma), and never where the
                # namespace promises `restricted`.
                if "IPC_LOCK" not in added or level == "restricted":
                    say(w, f"{where}: may run as root")
            if level == "restricted" and added:
                say(w, f"{where}: adds {sorted(added)} in a namespace that enforces `restricted`")
            res = c.get("resources", {})
            for need in ("requests.cpu", "requests.memory", "limits.memory"):
                a, b = need.split(".")
                if b not in res.get(a, {}):
                    say(w, f"{where}: no resources.{need}")

    # -- The daemons ------------------------------------------------------
    configs = {}
    for cm in r.of("ConfigMap"):
        for key, text in cm.get("data", {}).items():
            configs[key] = yaml.safe_load(text) or {}
    for w in r.workloads():
        spec = w["spec"]["template"]["spec"]
        for daemon, (key, main, metrics_default) in DAEMONS.items():
            c = container(w, daemon)
            if c is None:
                continue
            where = f"container {daemon}"
            if key not in configs:
                say(w, f"{where}: no ConfigMap holds {key}")
                continue
            conf = dict(configs[key])
            flags = known_flags(src, main)
            for k in conf:
                if k not in flags:
                    say(w, f"{key}: {k} is not a spindle-{daemon} flag (it would refuse to start)")
            args = arg_flags(c.get("args"))
            for k in args:
                if k not in flags:
                    say(w, f"{where}: --{k} is not a spindle-{daemon} flag")
            conf.update({k: v for k, v in args.items() if k != "config"})
            if "config" in args and not any(
                    args["config"].startswith(m["mountPath"].rstrip("/") + "/")
                    and args["config"].endswith("/" + key)
                    for m in c.get("volumeMounts", [])):
                say(w, f"{where}: --config={args['config']} is not the mounted {key}")
            grpc_port = int(str(conf.get("listen", ":0")).rsplit(":", 1)[1])
            if port_named(spec, "grpc") != grpc_port:
                say(w, f"{where}: containerPort grpc is not listen's port {grpc_port}")
            metrics = conf.get("metrics_listen")
            metrics_port = int(metrics.rsplit(":", 1)[1]) if metrics else metrics_default
            if port_named(spec, "metrics") != metrics_port:
                say(w, f"{where}: containerPort metrics is not {metrics_port}")
            tls = "tls_cert" in conf
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                p = c.get(probe)
                if p is None:
                    say(w, f"{where}: no {probe}")
                elif not tls and p.get("grpc", {}).get("port") != grpc_port:
                    say(w, f"{where}: {probe} is not a gRPC health probe on port {grpc_port}")
                elif tls and p.get("tcpSocket", {}).get("port") != grpc_port:
                    # The kubelet's gRPC probe cannot speak TLS.
                    say(w, f"{where}: with TLS, {probe} must be a TCP probe on port {grpc_port}")
            wait = duration_s(conf.get("stop_grace", "10s"))
            if daemon == "coordinator":
                wait += duration_s(conf.get("drain", "15s"))
            grace = spec.get("terminationGracePeriodSeconds", 30)
            if grace < wait + MARGIN_S:
                say(w, f"terminationGracePeriodSeconds {grace} < the daemon's {wait:g}s "
                       f"shutdown + {MARGIN_S}s")
            token = conf.get("token_file")
            if not token:
                say(w, f"{where}: no token_file: the daemon would run open")
            else:
                writes = any(token in (i.get("command", []) + i.get("args", []))
                             for i in spec.get("initContainers", []))
                if not writes:
                    say(w, f"{where}: no init container writes the owner-only {token}")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"]: v for v in spec.get("volumes", [])}
            for path in (conf.get("job_roots") or "").split(","):
                if path and "persistentVolumeClaim" not in vols.get(mounts.get(path), {}):
                    say(w, f"{where}: job root {path} is not a mounted volume claim")
            if daemon == "coordinator":
                if w["spec"].get("replicas") != 1 or w["spec"].get("strategy", {}).get("type") != "Recreate":
                    say(w, "the coordinator must be 1 replica with strategy Recreate (one jobs.db writer)")
                state = conf.get("state_dir")
                if "persistentVolumeClaim" not in vols.get(mounts.get(state), {}):
                    say(w, f"state_dir {state} is not on a volume claim: jobs would be lost")
                svc = r.named("Service", str(conf.get("advertise", "")).split(":")[0])
                if svc is None or not labels_match(svc["spec"].get("selector"),
                                                   w["spec"]["template"]["metadata"]["labels"]):
                    say(w, f"advertise {conf.get('advertise')} is not this coordinator's Service")
            else:
                coord = str(conf.get("coordinator", "")).split(":")
                svc = r.named("Service", coord[0])
                if svc is None or int(coord[1]) not in [p["port"] for p in svc["spec"]["ports"]]:
                    say(w, f"coordinator {conf.get('coordinator')} is no Service port here")
                host = args.get("advertise_host", "")
                if w["kind"] != "StatefulSet" or \
                        not host.startswith(f"$(POD_NAME).{w['spec']['serviceName']}."):
                    say(w, "--advertise_host must be the pod's record in the headless Service")
                gpus = c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
                if gpus:
                    shm = next((v for v in spec.get("volumes", [])
                                if v["name"] == mounts.get("/dev/shm")), {}).get("emptyDir", {})
                    if shm.get("medium") != "Memory":
                        say(w, "GPU workers need a memory-backed /dev/shm for NCCL")
                    if "NCCL_SOCKET_IFNAME" not in [e["name"] for e in c.get("env", [])]:
                        say(w, "GPU workers need NCCL_SOCKET_IFNAME")
                    terms = spec.get("affinity", {}).get("podAntiAffinity", {}).get(
                        "requiredDuringSchedulingIgnoredDuringExecution", [])
                    if not any(t.get("topologyKey") == "kubernetes.io/hostname" for t in terms):
                        say(w, "GPU workers must be one per node (required anti-affinity on hostname)")

    for pdb in r.of("PodDisruptionBudget"):
        comp = pdb["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component")
        s = pdb["spec"]
        if comp == "coordinator" and s.get("minAvailable") != 1:
            say(pdb, "the coordinator's budget must be minAvailable 1")
        if comp == "worker" and (s.get("maxUnavailable") != 1
                                 or s.get("unhealthyPodEvictionPolicy") != "AlwaysAllow"):
            say(pdb, "the workers' budget must be maxUnavailable 1, unhealthyPodEvictionPolicy AlwaysAllow")
    return bad


def check_generated(r, src):
    """The monitoring overlay's copies equal their sources."""
    bad = []
    rules_dir = src / "deploy/prometheus/rules"
    files = sorted(p for p in rules_dir.glob("*") if p.suffix in (".yml", ".yaml")) \
        if rules_dir.is_dir() else []
    groups = [g for f in files for g in yaml.safe_load(f.read_text())["groups"]]
    rules = r.of("PrometheusRule")
    if len(rules) != 1:
        bad.append(f"{r.name}: want one PrometheusRule, found {len(rules)}")
    elif rules[0]["spec"]["groups"] != groups:
        have = [g["name"] for g in rules[0]["spec"]["groups"]]
        bad.append(f"{r.name}: PrometheusRule/{rules[0]['metadata']['name']}: spec.groups differ from "
                   f"deploy/prometheus/rules/*.yml (groups here {have}, there {[g['name'] for g in groups]}); "
                   "run deploy/k8s/monitoring/generate.py")
    dash_dir = src / "deploy/grafana/dashboards"
    want = {p.name: json.loads(p.read_text()) for p in sorted(dash_dir.glob("*.json"))} \
        if dash_dir.is_dir() else {}
    have = {}
    for cm in r.of("ConfigMap"):
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            have.update({k: json.loads(v) for k, v in cm.get("data", {}).items()})
    if have != want:
        bad.append(f"{r.name}: dashboard ConfigMaps ({sorted(have)}) differ from "
                   f"deploy/grafana/dashboards ({sorted(want)}); run deploy/k8s/monitoring/generate.py")
    return bad


def self_test(renders, src):
    """Breaks copies in ways the checks must report; returns failures."""
    gpu = next((r for r in renders if r.name == "gpu"), None)
    if gpu is None:
        return ["self-test: no gpu render"]
    breaks = {
        "terminationGracePeriodSeconds 20 < the daemon's 25s": lambda o: o["kind"] == "Deployment" and
        o["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20),
        "is not a spindle-coordinator flag": lambda o: o["kind"] == "ConfigMap" and "coordinator.yaml" in o.get("data", {}) and
        o["data"].update({"coordinator.yaml": o["data"]["coordinator.yaml"] + "stop_grase: 5s\n"}),
        "targetPort metrics is no port": lambda o: o["kind"] == "StatefulSet" and
        o["spec"]["template"]["spec"]["containers"][0]["ports"].pop(),
        "does not drop ALL capabilities": lambda o: o["kind"] == "StatefulSet" and
        o["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("capabilities"),
        "need a memory-backed /dev/shm": lambda o: o["kind"] == "StatefulSet" and
        [v["emptyDir"].pop("medium") for v in o["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm"],
        "readinessProbe is not a gRPC health probe": lambda o: o["kind"] == "Deployment" and
        o["spec"]["template"]["spec"]["containers"][0]["readinessProbe"].update(grpc={"port": 9400}),
        "unhealthyPodEvictionPolicy AlwaysAllow": lambda o: o["kind"] == "PodDisruptionBudget" and
        o["spec"].pop("unhealthyPodEvictionPolicy", None),
        "selects no pod": lambda o: o["kind"] == "NetworkPolicy" and
        o["spec"]["podSelector"]["matchLabels"].update({"app.kubernetes.io/component": "workr"}),
    }
    failures = []
    for expect, mutate in breaks.items():
        objs = copy.deepcopy(gpu.objects)
        for o in objs:
            mutate(o)
        found = check(Render("gpu", objs), src, [])
        if not any(expect in f for f in found):
            failures.append(f"self-test: a break that should read '{expect}' went unreported")
    return failures


def main():
    src, render_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    renders = [Render(p.stem, [o for o in yaml.safe_load_all(p.read_text()) if o])
               for p in sorted(render_dir.glob("*.yaml"))]
    base = next((r for r in renders if r.name == "base"), Render("base", []))
    problems = self_test(renders, src)
    for r in renders:
        monitoring = r.name == "monitoring"
        problems += check(r, src, base.objects if monitoring else [])
        if monitoring:
            problems += check_generated(r, src)
    for p in problems:
        print(p, file=sys.stderr)
    n = sum(len(r.objects) for r in renders)
    print(f"checks: {len(renders)} renders, {n} objects, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
