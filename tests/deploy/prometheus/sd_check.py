#!/usr/bin/env python3
"""Runs the scrape configs' service discovery and relabelling offline.

  sd_check.py k8s testdata/k8s-endpoints.yml
      The fixture names a config in deploy/prometheus, one of its jobs, the
      target groups Kubernetes discovery would produce (with the same
      __meta_kubernetes_* labels) and the targets the job must keep. The
      job's kubernetes_sd_configs is swapped for file_sd_configs serving
      those groups, and `promtool check service-discovery` applies the real
      relabel_configs. (Debian's Prometheus is built without Kubernetes
      discovery, so this is how its relabelling gets tested at all; where
      promtool has it, the original file is also checked as is.)

  sd_check.py slurm
      Runs deploy/prometheus/write_slurm_targets.sh for a fake allocation
      (a stub scontrol on PATH), then `promtool check service-discovery` on
      prometheus-slurm.yml reading the file it wrote, and checks --remove and
      the script's refusals.

Exits 1 with a message per mismatch.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import catalog  # noqa: E402

PROMTOOL = os.environ.get("PROMTOOL", "promtool")
SD_TIMEOUT = "2s"  # promtool collects targets for this long, then prints


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kwargs)


def discover(config_path, job):
    """The targets `job` keeps after relabelling: a list of label dicts
    without the __-prefixed labels."""
    result = run([PROMTOOL, "check", "service-discovery", f"--timeout={SD_TIMEOUT}", config_path, job])
    if result.returncode != 0:
        raise RuntimeError(f"promtool check service-discovery {job} failed:\n{result.stdout}{result.stderr}")
    # Dropped targets are listed too, with empty labels.
    targets = [t["labels"] for t in json.loads(result.stdout) if t.get("labels")]
    return [{k: v for k, v in labels.items() if not k.startswith("__")} for labels in targets]


def compare(what, got, expected):
    key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    got_s, exp_s = sorted(map(key, got)), sorted(map(key, expected))
    if got_s == exp_s:
        print(f"ok: {what}: {len(got)} target(s) kept, labels as expected")
        return []
    return [f"{what}: targets after relabelling differ\n  got:      {got_s}\n  expected: {exp_s}"]


def check_config(path):
    result = run([PROMTOOL, "check", "config", path])
    return result.returncode, result.stdout + result.stderr


def k8s(fixture_path):
    root = catalog.source_dir()
    with open(fixture_path, encoding="utf-8") as f:
        fixture = yaml.safe_load(f)
    config_path = os.path.join(root, "deploy", "prometheus", fixture["config"])
    with open(config_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    problems = []

    rc, out = check_config(config_path)
    if rc == 0:
        print(f"ok: promtool check config {fixture['config']} (this promtool has Kubernetes discovery)")
    elif "kubernetes_sd_configs not found" in out:
        print(f"note: this promtool has no Kubernetes discovery (Debian's build); "
              f"{fixture['config']} is checked with file_sd standing in for it")
    else:
        problems.append(f"promtool check config {fixture['config']} failed:\n{out}")

    jobs = {j["job_name"]: j for j in config.get("scrape_configs", [])}
    job = jobs.get(fixture["job"])
    if job is None:
        return problems + [f"{fixture['config']} has no scrape job {fixture['job']}"]
    if not job.get("kubernetes_sd_configs"):
        return problems + [f"{fixture['config']} job {fixture['job']} has no kubernetes_sd_configs"]

    with tempfile.TemporaryDirectory(prefix="spindle-sd-") as tmp:
        targets = os.path.join(tmp, "discovered.json")
        with open(targets, "w", encoding="utf-8") as f:
            json.dump(fixture["discovered"], f)
        del job["kubernetes_sd_configs"]
        job["file_sd_configs"] = [{"files": [targets]}]
        config.pop("rule_files", None)  # checked on their own; the glob is relative
        stand_in = os.path.join(tmp, fixture["config"])
        with open(stand_in, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
        rc, out = check_config(stand_in)
        if rc != 0:
            return problems + [f"promtool check config on the file_sd stand-in failed:\n{out}"]
        print(f"ok: promtool check config {fixture['config']} with file_sd standing in")
        problems += compare(f"{fixture['config']} job {fixture['job']}",
                            discover(stand_in, fixture["job"]), fixture["expected"])
    return problems


def slurm():
    root = catalog.source_dir()
    script = os.path.join(root, "deploy", "prometheus", "write_slurm_targets.sh")
    config = os.path.join(root, "deploy", "prometheus", "prometheus-slurm.yml")
    problems = []
    with tempfile.TemporaryDirectory(prefix="spindle-sd-") as tmp:
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        # A stand-in for `scontrol show hostnames LIST` on gpu[001-003].
        scontrol = os.path.join(bindir, "scontrol")
        with open(scontrol, "w", encoding="utf-8") as f:
            f.write('#!/bin/sh\n[ "$1 $2" = "show hostnames" ] || exit 1\n'
                    'case "$3" in\n'
                    '  "gpu[001-003]") printf "gpu001\\ngpu002\\ngpu003\\n" ;;\n'
                    '  "bad") printf "gpu001\\nx\\"y\\n" ;;\n'
                    '  *) exit 1 ;;\nesac\n')
        os.chmod(scontrol, 0o755)
        targets = os.path.join(tmp, "targets")
        os.makedirs(targets)
        env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}",
                   SLURM_JOB_ID="4242", SLURM_JOB_NODELIST="gpu[001-003]")

        result = run(["bash", script, "--dir", targets], env=env)
        written = os.path.join(targets, "spindle-4242.json")
        if result.returncode != 0 or not os.path.exists(written):
            return [f"write_slurm_targets.sh failed (rc {result.returncode}):\n{result.stderr}"]
        leftovers = sorted(set(os.listdir(targets)) - {"spindle-4242.json"})
        if leftovers:
            problems.append(f"write_slurm_targets.sh left files behind: {leftovers}")
        shutil.copy(config, os.path.join(tmp, "prometheus-slurm.yml"))
        stand_in = os.path.join(tmp, "prometheus-slurm.yml")
        rc, out = check_config(stand_in)
        if rc != 0:
            problems.append(f"promtool check config prometheus-slurm.yml with written targets failed:\n{out}")
        expected = [{"instance": "gpu001:9400", "job": "spindle-coordinator", "slurm_job": "4242"}] + [
            {"instance": f"gpu00{i}:9401", "job": "spindle-worker", "slurm_job": "4242"} for i in (1, 2, 3)]
        problems += compare("prometheus-slurm.yml job spindle with write_slurm_targets.sh's file",
                            discover(stand_in, "spindle"), expected)

        result = run(["bash", script, "--dir", targets, "--remove"], env=env)
        if result.returncode != 0 or os.path.exists(written):
            problems.append(f"write_slurm_targets.sh --remove did not remove {written}: {result.stderr}")
        else:
            print("ok: write_slurm_targets.sh --remove deletes the allocation's file")

        refusals = {
            "outside an allocation": (dict(env, SLURM_JOB_ID=""), ["--dir", targets]),
            "a host name that would break the JSON": (dict(env, SLURM_JOB_NODELIST="bad"), ["--dir", targets]),
            "a missing target directory": (env, ["--dir", os.path.join(tmp, "nope")]),
            "a port that is not one": (env, ["--dir", targets, "--worker-port", "99999"]),
        }
        for what, (case_env, args) in refusals.items():
            result = run(["bash", script] + args, env=case_env)
            if result.returncode == 0 or not result.stderr.strip():
                problems.append(f"write_slurm_targets.sh accepted {what} (rc {result.returncode})")
            elif os.listdir(targets):
                problems.append(f"write_slurm_targets.sh wrote {os.listdir(targets)} for {what}")
            else:
                print(f"ok: write_slurm_targets.sh refuses {what}: {result.stderr.strip()}")
    return problems


def main(argv):
    if len(argv) == 3 and argv[1] == "k8s":
        problems = k8s(argv[2])
    elif len(argv) == 2 and argv[1] == "slurm":
        problems = slurm()
    else:
        print(__doc__)
        return 2
    for p in problems:
        print(f"FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
