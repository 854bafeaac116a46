// K8SU_SCRIPT_DIR lets the shell mutation runner point the script builders at a mutated copy of
// components/scripts/. The same module builds the scripts a real `pulumi up` runs, so the variable must not be
// able to redirect a real run: it is honoured only under the runner's own flags and outside the Pulumi engine.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { scriptDir } from "../components/scripts";

const ROOT = path.join(__dirname, "..");
const OWN = path.join(ROOT, "components", "scripts");
const RUNNER = { NODE_ENV: "test", K8SU_SCRIPT_MUTANTS: "1", K8SU_SCRIPT_DIR: "/tmp/mutant" };

describe("K8SU_SCRIPT_DIR", () => {
    it("is ignored when unset or empty: the program's own scripts", () => {
        assert.equal(scriptDir({}), OWN);
        assert.equal(scriptDir({ K8SU_SCRIPT_DIR: "", NODE_ENV: "production" }), OWN);
    });

    it("is honoured under the mutation runner's flags outside the engine", () => {
        assert.equal(scriptDir(RUNNER), "/tmp/mutant");
    });

    it("stops the program when set without both flags", () => {
        for (const env of [
            { K8SU_SCRIPT_DIR: "/tmp/mutant" },
            { K8SU_SCRIPT_DIR: "/tmp/mutant", NODE_ENV: "test" },
            { K8SU_SCRIPT_DIR: "/tmp/mutant", K8SU_SCRIPT_MUTANTS: "1" },
            { ...RUNNER, NODE_ENV: "production" },
            { ...RUNNER, K8SU_SCRIPT_MUTANTS: "true" },
        ])
            assert.throws(() => scriptDir(env), /only the script mutation runner may point the step scripts/);
    });

    it("stops the program under the Pulumi engine even with the runner's flags, and names what to do", () => {
        for (const engine of [{ PULUMI_NODEJS_MONITOR: "127.0.0.1:4000" }, { PULUMI_NODEJS_ENGINE: "127.0.0.1:4001" }])
            assert.throws(
                () => scriptDir({ ...RUNNER, ...engine }),
                (err: Error) =>
                    err.message.includes("while the Pulumi engine runs the program") &&
                    err.message.includes("Unset K8SU_SCRIPT_DIR") &&
                    err.message.includes(OWN),
            );
    });

    it("is what buildScript and buildRemoteScript read, in a process started as the runner or the engine would", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-script-dir-"));
        try {
            fs.cpSync(OWN, dir, { recursive: true });
            fs.appendFileSync(path.join(dir, "drain.sh"), "# mutant-marker-drain\n");
            fs.appendFileSync(path.join(dir, "kubeadm-kubelet.sh"), "# mutant-marker-kubelet\n");
            const code = [
                'const s = require("./components/scripts");',
                'const p = { K8SU_TARGET_VERSION: "1.31.2", K8SU_PACKAGE_MANAGER: "apt", K8SU_SWITCH_REPOSITORY: "true", K8SU_ROLE: "worker" };',
                'try { console.log(s.buildScript("drain").includes("mutant-marker-drain"), s.buildRemoteScript("kubeadm-kubelet", p).includes("mutant-marker-kubelet")); }',
                "catch (e) { console.log('error: ' + e.message); }",
            ].join("\n");
            const run = (env: NodeJS.ProcessEnv) => {
                const clean = { ...process.env };
                for (const k of ["NODE_ENV", "K8SU_SCRIPT_MUTANTS", "K8SU_SCRIPT_DIR", "PULUMI_NODEJS_MONITOR"])
                    delete clean[k];
                const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], {
                    cwd: ROOT,
                    env: { ...clean, ...env },
                    encoding: "utf8",
                });
                assert.equal(r.status, 0, r.stderr);
                return r.stdout.trim();
            };
            assert.equal(run({ ...RUNNER, K8SU_SCRIPT_DIR: dir }), "true true");
            assert.equal(run({}), "false false");
            assert.match(run({ K8SU_SCRIPT_DIR: dir }), /^error: K8SU_SCRIPT_DIR is set/);
            assert.match(
                run({ ...RUNNER, K8SU_SCRIPT_DIR: dir, PULUMI_NODEJS_MONITOR: "127.0.0.1:4000" }),
                /^error: .*while the Pulumi engine runs the program/,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
