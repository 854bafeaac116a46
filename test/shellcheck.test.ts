// Every script the program generates is standalone bash that passes shellcheck.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import {
    buildRemoteScript,
    buildScript,
    REMOTE_SCRIPT_KINDS,
    REMOTE_SCRIPT_PARAMS,
    SCRIPT_KINDS,
} from "../components/scripts";
import { runShellcheck, SHELLCHECK_MISSING } from "./shellcheck-run";

const SAMPLE: Record<string, string> = {
    K8SU_TARGET_VERSION: "1.31.4",
    K8SU_SNAPSHOT_DIR: "/var/backups/etcd",
    K8SU_PACKAGE_MANAGER: "apt",
    K8SU_SWITCH_REPOSITORY: "true",
    K8SU_FIRST: "true",
    K8SU_ROLE: "worker",
    K8SU_SNAPSHOT: "/var/backups/etcd/etcd-before-v1.31.4-20261122T041500Z.db",
    K8SU_NODE_NAME: "cp-1",
    K8SU_TIMEOUT_SECONDS: "600",
};
function allScripts(): Array<[string, string]> {
    return [
        ...SCRIPT_KINDS.map((k): [string, string] => [k, buildScript(k)]),
        ...REMOTE_SCRIPT_KINDS.map((k): [string, string] => [
            k,
            buildRemoteScript(k, Object.fromEntries(REMOTE_SCRIPT_PARAMS[k].map((p) => [p, SAMPLE[p]]))),
        ]),
    ];
}

test("every generated script passes shellcheck", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-sc-"));
    const files = allScripts().map(([kind, script]) => {
        const file = path.join(dir, `${kind}.sh`);
        fs.writeFileSync(file, script);
        return file;
    });
    const result = runShellcheck(["--shell=bash", "--severity=info", ...files]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
});

test("every generated script parses as bash and starts strict", () => {
    for (const [, script] of allScripts()) {
        assert.match(script, /^#!\/usr\/bin\/env bash\n# k8s-upgrades: /);
        assert.match(script, /set -euo pipefail/);
        execFileSync("bash", ["-n", "-c", script]);
    }
});

test("no script puts a secret on a command line or prints it", () => {
    for (const [kind, script] of allScripts()) {
        for (const secret of ["LINODE_TOKEN", "K8SU_KUBECONFIG_B64", "K8SU_KUBECONFIG"]) {
            for (const line of script
                .split("\n")
                .filter((l) => l.includes(`$${secret}`) || l.includes(`\${${secret}`))) {
                // The only uses allowed: printf (a builtin, so no argv) piped to base64/curl's stdin, or a test of presence.
                assert.match(
                    line,
                    /printf '[^']*' "\$(LINODE_TOKEN|K8SU_KUBECONFIG_B64|K8SU_KUBECONFIG)" (\||>)|\[ -n "\$\{(K8SU_KUBECONFIG_B64|K8SU_KUBECONFIG):-\}" \]/,
                    `${kind}: ${line.trim()}`,
                );
            }
        }
    }
});

test("remote parameters are quoted, so a value cannot break out of its assignment", () => {
    const script = buildRemoteScript("kubeadm-etcd-snapshot", {
        K8SU_TARGET_VERSION: "1.31.4",
        K8SU_SNAPSHOT_DIR: "/tmp/it's $(touch /tmp/pwned)",
    });
    const out = execFileSync(
        "bash",
        ["-c", `${script.split("\n").slice(0, 4).join("\n")}\nprintf '%s' "$K8SU_SNAPSHOT_DIR"`],
        { encoding: "utf8" },
    );
    assert.equal(out, "/tmp/it's $(touch /tmp/pwned)");
    assert.throws(
        () => buildRemoteScript("kubeadm-etcd-snapshot", { K8SU_TARGET_VERSION: "1.31.4" }),
        /takes K8SU_TARGET_VERSION, K8SU_SNAPSHOT_DIR/,
    );
});

test("without shellcheck on PATH, the lint tests say what to install rather than failing with no hint", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "no-shellcheck-"));
    assert.throws(
        () => runShellcheck(["--version"], { ...process.env, PATH: empty }),
        (err: Error) => err.message === SHELLCHECK_MISSING && /apt-get install shellcheck/.test(err.message),
    );
    assert.equal(runShellcheck(["--version"]).status, 0, "shellcheck on this machine's PATH runs");
});
