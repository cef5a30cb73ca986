#!/usr/bin/env python3
"""A static look at deploy/docker (no Docker daemon here, so nothing is built):

  - every Dockerfile has FROM lines, unique stage names, and each
    COPY --from names an earlier stage;
  - every file COPY takes from the build context exists in the repository,
    and every repository script a RUN line calls exists and parses (bash -n);
  - the final stage installs the five programs under /opt/spindle/bin and runs
    as the uid the Kubernetes manifests ask for (runAsUser);
  - each Dockerfile has a DOCKERFILE.dockerignore keeping the deployment's
    token and keys out of the build context.

  dockerfile_lint.py SOURCE_DIR
"""
import pathlib
import re
import subprocess
import sys

import yaml

PROGRAMS = ("spindle", "spindle-coordinator", "spindle-worker", "spindle-trainer", "spindle-eval")
SECRETS = ("deploy/k8s/base/token", "deploy/k8s/components/tls/tls.key")


def instructions(text):
    """(line number, INSTRUCTION, rest) with continuation lines joined."""
    out, buf, start = [], "", 0
    for n, line in enumerate(text.splitlines(), 1):
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buf:
            start = n
        buf += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            word, _, rest = buf.strip().partition(" ")
            out.append((start, word.upper(), rest.strip()))
            buf = ""
    return out


def manifest_uid(src):
    dep = yaml.safe_load((src / "deploy/k8s/base/coordinator-deployment.yaml").read_text())
    return dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"]


def lint(src, path):
    bad = []
    rel = path.relative_to(src)

    def say(line, text):
        bad.append(f"{rel}:{line}: {text}")

    stages, final = [], []
    for line, word, rest in instructions(path.read_text()):
        if word == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            if not m:
                say(line, f"cannot read FROM {rest}")
                continue
            name = (m.group(2) or "").lower()
            if name and name in stages:
                say(line, f"stage {name} defined twice")
            stages.append(name)
            final = []
        if not stages and word not in ("ARG", "FROM"):
            say(line, f"{word} before the first FROM")
        final.append((line, word, rest))
        if word in ("COPY", "ADD"):
            parts = [p for p in rest.split() if not p.startswith("--")]
            opts = dict(re.findall(r"--(\w+)=(\S+)", rest))
            if "from" in opts:
                ref = opts["from"].lower()
                if ref not in stages[:-1] and not (ref.isdigit() and int(ref) < len(stages) - 1):
                    say(line, f"COPY --from={opts['from']}: no earlier stage of that name")
                continue
            if word == "ADD":
                say(line, "use COPY: ADD also fetches URLs and unpacks archives")
            for source in parts[:-1]:
                if source != "." and not list(src.glob(source)):
                    say(line, f"COPY source {source} is not in the repository")
        if word == "RUN":
            for script in set(re.findall(r"(?<![\w/])((?:scripts|deploy)/[\w./-]+\.sh)", rest)):
                f = src / script
                if not f.is_file():
                    say(line, f"RUN calls {script}, which is not in the repository")
                elif subprocess.run(["bash", "-n", str(f)], capture_output=True).returncode != 0:
                    say(line, f"{script} does not parse (bash -n)")
    if not stages:
        say(1, "no FROM")
    text = " ".join(rest for _, _, rest in final)
    users = [rest for _, word, rest in final if word == "USER"]
    uid = str(manifest_uid(src))
    if not users or users[-1].split(":")[0] != uid:
        say(0, f"the final stage must end as USER {uid}, the manifests' runAsUser")
    whole = path.read_text()
    if not re.search(r"--from=\S+ /opt/spindle /opt/spindle", text):
        say(0, "the final stage does not copy /opt/spindle from the build stage")
    for program in PROGRAMS:
        if not re.search(rf"build/bin/{program}(\s|$)", whole) or "/opt/spindle/bin" not in whole:
            say(0, f"{program} is not copied into /opt/spindle/bin")
    ignore = path.with_name(path.name + ".dockerignore")
    if not ignore.is_file():
        say(0, f"no {ignore.name}: the build context would include the deployment's secrets")
    else:
        patterns = [p.strip() for p in ignore.read_text().splitlines() if p.strip() and not p.startswith("#")]
        for secret in SECRETS:
            if secret not in patterns:
                say(0, f"{ignore.name} does not exclude {secret}")
    return bad


def main():
    src = pathlib.Path(sys.argv[1])
    files = sorted(p for p in (src / "deploy/docker").glob("Dockerfile*") if p.suffix != ".dockerignore")
    bad = [] if files else ["deploy/docker: no Dockerfile"]
    for f in files:
        bad += lint(src, f)
    for b in bad:
        print(b, file=sys.stderr)
    print(f"dockerfile lint: {len(files)} Dockerfiles, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
