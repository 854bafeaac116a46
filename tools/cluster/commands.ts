// The command line of each component of the test control plane. Flags are the components' own (kube-apiserver,
// kube-controller-manager and kube-scheduler `--help` at the pinned release; etcd's and kwok's).
import * as path from "node:path";
import type { Binaries, Component, Ports } from "./control-plane";
import type { Pki } from "./pki";

export interface Kubeconfigs {
    admin: string;
    controllerManager: string;
    scheduler: string;
    kwok: string;
}

function etcd(bin: string, dir: string, ports: Ports): string[] {
    const client = `http://127.0.0.1:${ports.etcd}`;
    const peer = `http://127.0.0.1:${ports.etcdPeer}`;
    return [
        bin,
        "--name=k8su",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=k8su=${peer}`,
        "--initial-cluster-state=new",
        // A test cluster's data need not survive a power cut; skipping fsync keeps etcd off the disk's latency.
        "--unsafe-no-fsync",
        "--log-level=warn",
    ];
}

function apiserver(bin: string, pki: Pki, ports: Ports): string[] {
    return [
        bin,
        `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${ports.apiserver}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--token-auth-file=${pki.tokenFile}`,
        "--authorization-mode=RBAC",
        "--anonymous-auth=false",
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--allow-privileged=true",
        "--v=1",
    ];
}

function controllerManager(bin: string, pki: Pki, kubeconfig: string): string[] {
    return [
        bin,
        `--kubeconfig=${kubeconfig}`,
        "--leader-elect=false",
        "--secure-port=0",
        "--controllers=*",
        "--use-service-account-credentials=false",
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        "--v=1",
    ];
}

function scheduler(bin: string, kubeconfig: string): string[] {
    return [bin, `--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--secure-port=0", "--v=1"];
}

function kwok(bin: string, dir: string, kubeconfig: string, ports: Ports): string[] {
    return [
        bin,
        `--kubeconfig=${kubeconfig}`,
        `--config=${path.join(dir, "kwok-stages.yaml")}`,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        `--server-address=127.0.0.1:${ports.kwok}`,
        "--cidr=10.244.0.1/16",
        "--node-ip=10.0.0.1",
        "--node-lease-duration-seconds=40",
    ];
}

export function componentCommands(
    b: Binaries,
    dir: string,
    pki: Pki,
    ports: Ports,
    kc: Kubeconfigs,
): Record<Component, string[]> {
    return {
        etcd: etcd(b.bins.etcd, dir, ports),
        "kube-apiserver": apiserver(b.bins["kube-apiserver"], pki, ports),
        "kube-controller-manager": controllerManager(b.bins["kube-controller-manager"], pki, kc.controllerManager),
        "kube-scheduler": scheduler(b.bins["kube-scheduler"], kc.scheduler),
        kwok: kwok(b.bins.kwok, dir, kc.kwok, ports),
    };
}
