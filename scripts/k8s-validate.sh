#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/k8s (or the folder given) offline, for CI:
#
# - every object of every *.yaml against the Kubernetes API schemas, strictly (an unknown or
#   misspelled field fails), for each version in PACKYARD_K8S_VERSIONS (default: 1.28, the
#   oldest these manifests run on, since they read the apps.kubernetes.io/pod-index label,
#   and 1.37, the newest the schemas cover);
# - what the schemas cannot see: selectors that match their pod labels, mounts and probe
#   ports that name something, Services that select pods, a StatefulSet's governing Service;
# - the TOML in each ConfigMap: it parses, and its fields are fields of the config struct the
#   server reads it into (which refuses unknown ones);
# - kustomization.yaml lists every manifest, and nothing else.
#
# The schemas come with the kubernetes-validate package, installed once into a virtualenv
# under ${PACKYARD_CACHE:-~/.cache/packyard}/venv-k8s; after that no network is needed.
# Prints one PASS or FAIL line per file (the reasons under a FAIL) and exits 1 on any failure.
#
#   scripts/k8s-validate.sh [DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/deploy/k8s}"
[ -d "$dir" ] || { echo "k8s-validate: no folder $dir" >&2; exit 2; }
dir="$(cd "$dir" && pwd)"

cache="${PACKYARD_CACHE:-$HOME/.cache/packyard}"
venv="$cache/venv-k8s"
# 1.37.0 bundles the schemas of Kubernetes 1.25 to 1.37 (strict and not).
kv_version="1.37.0"
versions="${PACKYARD_K8S_VERSIONS:-1.28.0 1.37.0}"

installed() {
  "$venv/bin/python" - "$kv_version" 2>/dev/null <<'EOF'
import importlib.metadata as m, sys
sys.exit(0 if m.version("kubernetes-validate") == sys.argv[1] else 1)
EOF
}

if ! installed; then
  python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || { echo "k8s-validate: needs $python" >&2; exit 2; }
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c '' 2>/dev/null; then
    rm -rf "$venv"
    mkdir -p "$cache"
    "$python" -m venv "$venv" || {
      echo "k8s-validate: cannot make a virtualenv (on Debian: apt-get install python3-venv)" >&2
      exit 2
    }
  fi
  echo "k8s-validate: installing kubernetes-validate $kv_version into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "kubernetes-validate==$kv_version" "tomli==2.2.1; python_version < '3.11'"
fi

exec "$venv/bin/python" - "$dir" "$root" "$versions" <<'PYTHON'
import glob
import os
import re
import sys

import yaml
from kubernetes_validate import utils as kv

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

folder, root, versions = sys.argv[1], sys.argv[2], sys.argv[3].split()

# The TOML each ConfigMap key holds, and the struct the server reads it into, as
# (file under the repository, struct name); tables are checked against their own struct.
CONFIGS = {
    "control.toml": ("control-plane/src/config.rs", "ControlConfig"),
    "origin.toml": ("origin/src/config.rs", "OriginConfig"),
    "edge.toml": ("edge/src/config.rs", "EdgeConfig"),
}
TABLES = {
    ("ControlConfig", "api"): ("control-plane/src/api/config.rs", "ApiConfig"),
    ("OriginConfig", "gc"): ("origin/src/config.rs", "GcConfig"),
}
# Tables whose keys are data (node ids), not fields.
MAPS = {("ControlConfig", "peers")}


def struct_fields(path, name):
    """The serde field names of `pub struct name` in path: its `pub x:` fields, without
    those marked #[serde(skip)]."""
    text = open(os.path.join(root, path)).read()
    m = re.search(r"pub struct %s\s*\{(.*?)\n\}" % re.escape(name), text, re.S)
    if not m:
        raise LookupError("no `pub struct %s` in %s" % (name, path))
    fields, skip = set(), False
    for line in m.group(1).splitlines():
        line = line.strip()
        if line.startswith("#[serde(") and "skip" in line:
            skip = True
        f = re.match(r"pub (\w+)\s*:", line)
        if f:
            if not skip:
                fields.add(f.group(1))
            skip = False
    return fields


def check_toml(key, text):
    problems = []
    try:
        doc = tomllib.loads(text)
    except Exception as e:  # noqa: BLE001 - any parse error is the finding
        return ["%s: not TOML: %s" % (key, e)]
    if key not in CONFIGS:
        return ["%s: no config struct known for it (CONFIGS in this script)" % key]
    path, struct = CONFIGS[key]

    def walk(table, path, struct, where):
        try:
            known = struct_fields(path, struct)
        except (OSError, LookupError) as e:
            problems.append("%s: %s" % (key, e))
            return
        for field, value in table.items():
            if field not in known:
                problems.append("%s: %s%s is not a field of %s (%s)"
                                % (key, where, field, struct, path))
            elif isinstance(value, dict) and (struct, field) not in MAPS:
                if (struct, field) in TABLES:
                    walk(value, *TABLES[(struct, field)], where + field + ".")

    walk(doc, path, struct, "")
    return problems


def pod_spec(obj):
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {})
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    if kind == "Pod":
        return obj
    return None


def check_object(obj, objects):
    """What the schemas cannot see, for one object; objects: every object in the folder."""
    problems = []
    template = pod_spec(obj)
    if template is not None:
        labels = (template.get("metadata") or {}).get("labels") or {}
        spec = template.get("spec") or {}
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
        if obj["kind"] != "Pod" and selector is not None:
            wrong = {k: v for k, v in selector.items() if labels.get(k) != v}
            if wrong:
                problems.append("selector %s does not match the pod labels" % wrong)
        volumes = {v["name"] for v in spec.get("volumes") or []}
        claims = {(c.get("metadata") or {}).get("name")
                  for c in (obj.get("spec") or {}).get("volumeClaimTemplates") or []}
        if obj["kind"] == "StatefulSet":
            governing = obj["spec"].get("serviceName")
            if governing and not any(o["kind"] == "Service" and o["metadata"]["name"] == governing
                                     for o in objects):
                problems.append("serviceName %s names no Service here" % governing)
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            ports = {p.get("name") for p in c.get("ports") or []}
            for m in c.get("volumeMounts") or []:
                if m["name"] not in volumes | claims:
                    problems.append("container %s mounts %s, which is no volume"
                                    % (c["name"], m["name"]))
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                p = c.get(probe) or {}
                port = (p.get("httpGet") or p.get("tcpSocket") or p.get("grpc") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    problems.append("container %s: %s port %s is not a named port"
                                    % (c["name"], probe, port))
        for v in spec.get("volumes") or []:
            cm = (v.get("configMap") or {}).get("name")
            if cm and not any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm
                              for o in objects):
                problems.append("volume %s: no ConfigMap %s here" % (v["name"], cm))
    if obj.get("kind") == "Service":
        selector = (obj.get("spec") or {}).get("selector") or {}
        pods = [pod_spec(o) for o in objects if pod_spec(o) is not None]
        matching = [t for t in pods
                    if all(((t.get("metadata") or {}).get("labels") or {}).get(k) == v
                           for k, v in selector.items())]
        if selector and not matching:
            problems.append("selector %s matches no pod template here" % selector)
        for port in (obj.get("spec") or {}).get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str) and matching and not any(
                    target in {p.get("name") for c in (t.get("spec") or {}).get("containers") or []
                               for p in c.get("ports") or []}
                    for t in matching):
                problems.append("port %s: targetPort %s is no named port of its pods"
                                % (port.get("name"), target))
    if obj.get("kind") == "PodDisruptionBudget":
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not any(all(((t.get("metadata") or {}).get("labels") or {}).get(k) == v
                       for k, v in selector.items())
                   for t in (pod_spec(o) for o in objects) if t is not None):
            problems.append("selector %s matches no pod template here" % selector)
    if obj.get("kind") == "ConfigMap":
        for key, text in (obj.get("data") or {}).items():
            if key.endswith(".toml"):
                problems.extend(check_toml(key, text))
    return problems


def name(obj):
    return "%s/%s" % (obj.get("kind", "?"), (obj.get("metadata") or {}).get("name", "?"))


def is_kustomization(obj):
    return str(obj.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")


files = sorted(glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "*.yml")))
loaded, results = {}, {}
for path in files:
    try:
        with open(path) as f:
            loaded[path] = [d for d in yaml.safe_load_all(f) if d is not None]
    except Exception as e:  # noqa: BLE001
        loaded[path] = None
        results[path] = ["not YAML: %s" % e]

objects = [o for docs in loaded.values() if docs for o in docs
           if isinstance(o, dict) and not is_kustomization(o)]
failed = 0
for path in files:
    rel = os.path.relpath(path)
    rel = path if rel.startswith("..") else rel
    docs = loaded[path]
    problems = results.get(path, [])
    if docs is not None and any(isinstance(d, dict) and is_kustomization(d) for d in docs):
        k = docs[0]
        listed = k.get("resources") or []
        present = {os.path.basename(p) for p in files if p != path}
        for r in listed:
            if not os.path.exists(os.path.join(folder, r)):
                problems.append("resources lists %s, which is not there" % r)
        for p in sorted(present - set(listed)):
            problems.append("%s is not in resources" % p)
        if problems:
            failed += 1
            print("FAIL %s" % rel)
            for p in problems:
                print("     %s" % p)
        else:
            print("PASS %s: lists all %d manifests" % (rel, len(listed)))
        continue
    if docs is not None:
        if not docs:
            problems.append("holds no object")
        for obj in docs:
            if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
                problems.append("a document is not a Kubernetes object (no kind/apiVersion)")
                continue
            for version in versions:
                try:
                    kv.validate(obj, version, strict=True)
                except kv.ValidationError as e:
                    where = ".".join(str(p) for p in e.path) or "(top)"
                    problems.append("%s against %s: %s: %s"
                                    % (name(obj), e.version, where, e.message))
                except kv.SchemaNotFoundError as e:
                    problems.append("%s: %s" % (name(obj), e.message))
                except kv.VersionNotSupportedError as e:
                    problems.append("kubernetes-validate has no schemas for %s" % e.version)
                except Exception as e:  # noqa: BLE001
                    problems.append("%s: could not be validated: %s" % (name(obj), e))
            problems.extend("%s: %s" % (name(obj), p) for p in check_object(obj, objects))
    if problems:
        failed += 1
        print("FAIL %s" % rel)
        for p in dict.fromkeys(problems):
            print("     %s" % str(p).replace("\n", "\n     "))
    else:
        print("PASS %s: %s (Kubernetes %s)"
              % (rel, ", ".join(name(o) for o in docs),
                 ", ".join(kv.major_minor(v) for v in versions)))

if not files:
    print("FAIL %s: no *.yaml files" % folder)
    failed = 1
if failed:
    print("k8s-validate: %d of %d files failed" % (failed, len(files)))
    sys.exit(1)
print("k8s-validate: all %d files valid" % len(files))
PYTHON
