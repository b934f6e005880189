#!/usr/bin/env bash
# A single-node SLURM (Debian's slurm-wlm and munge) on this machine, for tests/test_cluster.py's
# real --cluster slurm run. Needs root. Idempotent: a second call finds it running.
#   sudo .ci/slurm-single-node.sh        # then: sinfo, sbatch ... work
set -euo pipefail
if sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix|alloc"; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
command -v slurmctld >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge; }

host=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /etc/munge
# No cgroups, no accounting database: what runs in a container or a CI runner.
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=aisqt
SlurmctldHost=${host}
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=${host} CPUs=${cpus} RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
[ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; }
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix|alloc"; then
        sinfo
        exit 0
    fi
    sleep 1
done
echo "SLURM did not come up; its logs:" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
