"""A real single-node SLURM cluster on 127.0.0.1 for the profile test: Debian's packages, our own config.

Partitions `cpu` (default) and `gpu`, one fake GPU (gres with File=/dev/null).
The config goes to /etc/slurm (job steps look for it there; one written by
anyone else is never overwritten) and is removed afterwards; everything the
daemons write lives in a temporary folder. The daemons are stopped by their
PIDs (slurmd, slurmctld, then munged if this harness started it). Needs root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]

MARKER = "# galaxy-pretraining test cluster"
ETC = Path("/etc/slurm")
SLURM_CONF = MARKER + """
ClusterName=galaxytest
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
GresTypes=gpu
NodeName={node} NodeAddr=127.0.0.1 CPUs=16 RealMemory=64000 Gres=gpu:fake:1 State=UNKNOWN
PartitionName=cpu Nodes={node} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={node} MaxTime=INFINITE State=UP
"""

GRES_CONF = MARKER + """
AutoDetect=off
NodeName={node} Name=gpu Type=fake File=/dev/null
"""


def install() -> None:
    """Install SLURM and munge from Debian's packages unless they are there already."""
    if all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES], check=True, env=env,
                   capture_output=True)


def _port_busy(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _munge_works() -> bool:
    if shutil.which("munge") is None:
        return False
    encode = subprocess.run(["munge", "-n"], capture_output=True)
    if encode.returncode != 0:
        return False
    return subprocess.run(["unmunge"], input=encode.stdout, capture_output=True).returncode == 0


def _kill_pid_file(path: Path) -> None:
    if not path.exists():
        return
    try:
        pid = int(path.read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


class SlurmCluster:
    def __init__(self, folder: Path):
        self.folder = folder
        self.node = socket.gethostname().split(".")[0]
        self.conf = ETC / "slurm.conf"
        self.env = dict(os.environ)
        self.started_munge = False

    def run(self, *command: str, check: bool = True) -> str:
        return subprocess.run(command, check=check, capture_output=True, text=True, env=self.env).stdout

    def start(self) -> None:
        for port in (6817, 6818):
            if _port_busy(port):
                raise RuntimeError(f"port {port} is in use: another SLURM daemon runs here; stop it first")
        (self.folder / "ctld").mkdir(parents=True)
        (self.folder / "d").mkdir()
        for name in ("slurm.conf", "gres.conf"):
            existing = ETC / name
            if existing.exists() and MARKER not in existing.read_text():
                raise RuntimeError(f"{existing} exists and is not this test's: refusing to overwrite a real cluster's config")
        ETC.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(SLURM_CONF.format(node=self.node, state=self.folder))
        (ETC / "gres.conf").write_text(GRES_CONF.format(node=self.node))
        if not _munge_works():
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)
            self.started_munge = True
        subprocess.run(["/usr/sbin/slurmctld", "-i", "-f", str(self.conf)], check=True, env=self.env)
        subprocess.run(["/usr/sbin/slurmd", "-f", str(self.conf)], check=True, env=self.env)
        deadline = time.time() + 90
        while time.time() < deadline:
            state = self.run("sinfo", "-h", "-N", "-o", "%T", check=False).split()
            if state and all(s.rstrip("*") in ("idle", "mixed", "allocated") for s in state):
                return
            if any(s.rstrip("*").startswith(("inval", "drain", "down")) for s in state):
                self.run("scontrol", "update", f"nodename={self.node}", "state=resume", check=False)
            time.sleep(1)
        raise RuntimeError(f"the SLURM node never became idle: {self.run('sinfo', check=False)}\n"
                           f"{(self.folder / 'slurmctld.log').read_text()[-3000:]}")

    def jobs(self) -> list[dict]:
        """Every job the controller still remembers (MinJobAge), as key=value dicts."""
        out = self.run("scontrol", "-o", "show", "job", check=False)
        jobs = []
        for line in out.splitlines():
            fields = {}
            for item in line.split():
                key, _, value = item.partition("=")
                fields[key] = value
            jobs.append(fields)
        return jobs

    def squeue(self) -> list[dict]:
        """What a user sees with `squeue --states=all`: comment (Snakemake's rule_<name>), partition, state."""
        out = self.run("squeue", "--states=all", "--noheader", "--format=%k|%P|%T", check=False)
        return [dict(zip(("comment", "partition", "state"), line.split("|"))) for line in out.splitlines() if line]

    def stop(self) -> None:
        """Stop the daemons by PID: slurmd, slurmctld, then munged if this harness started it."""
        _kill_pid_file(self.folder / "slurmd.pid")
        _kill_pid_file(self.folder / "slurmctld.pid")
        if self.started_munge:
            _kill_pid_file(Path("/run/munge/munged.pid"))
        for name in ("slurm.conf", "gres.conf"):
            path = ETC / name
            if path.exists() and MARKER in path.read_text():
                path.unlink()
