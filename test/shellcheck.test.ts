// Every script the program generates is standalone bash that passes shellcheck.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildScript, SCRIPT_KINDS } from "../components/scripts";

test("every generated script passes shellcheck", () => {
    const probe = spawnSync("shellcheck", ["--version"]);
    assert.equal(probe.error, undefined, "shellcheck is not installed: apt-get install shellcheck (.ci/run does this)");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-sc-"));
    const files = SCRIPT_KINDS.map((kind) => {
        const file = path.join(dir, `${kind}.sh`);
        fs.writeFileSync(file, buildScript(kind));
        return file;
    });
    const result = spawnSync("shellcheck", ["--shell=bash", "--severity=info", ...files], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
});

test("every generated script parses as bash and starts strict", () => {
    for (const kind of SCRIPT_KINDS) {
        const script = buildScript(kind);
        assert.match(script, /^#!\/usr\/bin\/env bash\n# k8s-upgrades: /);
        assert.match(script, /set -euo pipefail/);
        execFileSync("bash", ["-n", "-c", script]);
    }
});

test("no script puts a secret on a command line or prints it", () => {
    for (const kind of SCRIPT_KINDS) {
        const script = buildScript(kind);
        for (const secret of ["LINODE_TOKEN", "K8SU_KUBECONFIG_B64", "K8SU_KUBECONFIG"]) {
            for (const line of script.split("\n").filter((l) => l.includes(`$${secret}`) || l.includes(`\${${secret}`))) {
                // The only uses allowed: printf (a builtin, so no argv) piped to base64/curl's stdin, or a test of presence.
                assert.match(line, /printf '[^']*' "\$(LINODE_TOKEN|K8SU_KUBECONFIG_B64|K8SU_KUBECONFIG)" (\||>)|\[ -n "\$\{(K8SU_KUBECONFIG_B64|K8SU_KUBECONFIG):-\}" \]/, `${kind}: ${line.trim()}`);
            }
        }
    }
});
