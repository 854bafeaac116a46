// How a refusal is worded and what it may show: the stack, cluster and field it names, the value given (never a
// secret), the pluralised count, the "did you mean" suggestions, the secrets a cluster names, the misspelt
// namespace, and the helpers behind them (redaction, scrubbing, host names). Everything runs in-process.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import {
    ConfigError,
    type ConfigIssue,
    fieldOf,
    formatIssue,
    parseStackConfig,
    renderGiven,
    suggest,
} from "../components/config";
import { isSensitiveKey, looksSecret, REDACTED, redactValue, scrub } from "../components/config/redact";
import { isHost } from "../components/config/rules";
import { stackRefusal } from "./config-calls";
import { capi, kubeadm, lke } from "./fixtures/bad-configs";

const F = 'Pulumi.dev.yaml: stack "dev"';

const refusal = stackRefusal;

// ---------------------------------------------------------------------------------------------------------------
// The head of the refusal, and one issue's wording.

test("the refusal counts its problems: 1 problem, 2 problems, 0 problems for an empty list; its name is ConfigError", () => {
    const one: ConfigIssue = { stack: "dev", field: "k8s-upgrades:promotesFrom", given: "dev", allowed: "x" };
    assert.match(new ConfigError([one]).message, /^k8s-upgrades refused the stack config \(1 problem\); nothing/);
    assert.match(new ConfigError([one, one]).message, /^k8s-upgrades refused the stack config \(2 problems\); nothing/);
    assert.equal(
        new ConfigError([]).message,
        "k8s-upgrades refused the stack config (0 problems); nothing was changed:\n",
    );
    assert.equal(new ConfigError([one]).name, "ConfigError");
});

test("a cluster declared in code is refused by its arguments, named by class and argument path", () => {
    const issue: ConfigIssue = {
        stack: "prod",
        field: "nodePools[0].count",
        given: 0,
        allowed: "a whole number from 1 to 1000",
        declaredBy: 'LkeCluster "apps"',
    };
    const err = new ConfigError([issue]);
    assert.equal(
        err.message,
        'k8s-upgrades refused the cluster\'s arguments (1 problem); nothing was changed:\n  - LkeCluster "apps" in stack "prod", argument nodePools[0].count: given 0; allowed: a whole number from 1 to 1000.',
    );
    // One issue from the stack file among them: the refusal is of the stack config.
    const mixed = new ConfigError([
        issue,
        { stack: "prod", field: "k8s-upgrades:rollout", given: 1, allowed: "a map" },
    ]);
    assert.match(mixed.message, /^k8s-upgrades refused the stack config \(2 problems\)/);
    assert.ok(
        mixed.message.endsWith('Pulumi.prod.yaml: stack "prod", field k8s-upgrades:rollout: given 1; allowed: a map.'),
    );
});

test("a long value is cut at 200 characters of its JSON; one of exactly 200 is shown whole", () => {
    const words = (n: number) => "ab ".repeat(Math.ceil(n / 3)).slice(0, n);
    const at200 = words(198); // 198 characters and two quotes
    assert.equal(renderGiven({ field: "clusters[0].name", given: at200 }), `"${at200}"`);
    const at201 = words(199);
    assert.equal(renderGiven({ field: "clusters[0].name", given: at201 }), `"${at201.slice(0, 199)}…`);
    const long = words(250);
    assert.equal(renderGiven({ field: "clusters[0].name", given: long }), `"${long.slice(0, 199)}…`);
});

test("a value under a secret key is never shown, whatever the path before the key", () => {
    const shown = (field: string, given: unknown) => renderGiven({ field, given });
    assert.equal(shown("k8s-upgrades:apiToken", "plain"), REDACTED);
    assert.equal(shown("clusters[0].kubeadm.ssh.privateKeySecret", "plain"), "<redacted>");
    // A list under a secret key, element by element.
    assert.equal(shown("clusters[0].authorizedKey[12]", "plain"), REDACTED);
    // A secret-sounding key earlier in the path does not hide a plain leaf.
    assert.equal(shown("clusters[0].tokenPolicy.count", 3), "3");
    // A taint's key is the Kubernetes taint key, not a secret.
    assert.equal(shown("clusters[0].nodePools[0].taints[10].key", "dedicated"), '"dedicated"');
    assert.equal(shown("clusters[0].name", undefined), "nothing");
});

// ---------------------------------------------------------------------------------------------------------------
// Suggestions for misspelt words.

test("suggestions: none without candidates or for an empty word; any case; within a third of the length, at least 2", () => {
    assert.equal(suggest("clusters", []), undefined);
    assert.equal(suggest("", ["ab", "rollout"]), undefined);
    assert.equal(suggest("CLUSTERS", ["clusters", "rollout"]), "clusters");
    assert.equal(suggest("Rollout", ["clusters", "rollout"]), "rollout");
    // Two edits away from an 8-letter word: within the floor of 2.
    assert.equal(suggest("clustr", ["clusters", "rollout"]), "clusters");
    // Three edits away: too far for an 8-letter word.
    assert.equal(suggest("clust", ["clusters", "rollout"]), undefined);
    // promotesFrom has 12 letters: up to 4 edits.
    assert.equal(suggest("promoteFr", ["clusters", "promotesFrom"]), "promotesFrom");
    assert.equal(suggest("promote", ["clusters", "promotesFrom"]), undefined);
    // A 3-letter word still allows 2 edits.
    assert.equal(suggest("axy", ["abc"]), "abc");
});

test("an unknown stack key three edits from promotesFrom is still suggested", () => {
    assert.deepEqual(refusal({ clusters: [lke()], promoteFr: "staging" }), [
        `${F}, field k8s-upgrades:promoteFr: given "staging"; allowed: one of the keys clusters, promotesFrom, firstDeployment, rollout, or a secret key a cluster names. Did you mean "promotesFrom"?`,
    ]);
});

// ---------------------------------------------------------------------------------------------------------------
// Where an issue is: stack-level fields, and clusters without a usable name.

test("a field path is written the way the stack file reads", () => {
    assert.equal(fieldOf(["clusters"]), "k8s-upgrades:clusters");
    assert.equal(fieldOf([]), "k8s-upgrades:");
    assert.equal(
        fieldOf(["clusters", 0, "nodePools", 1, "labels", "app.kubernetes.io/name"]),
        'clusters[0].nodePools[1].labels["app.kubernetes.io/name"]',
    );
});

test("a stack-level mistake names no cluster", () => {
    assert.deepEqual(refusal({ clusters: [lke()], promotesFrom: 42 }), [
        `${F}, field k8s-upgrades:promotesFrom: given 42; allowed: a stack name.`,
    ]);
});

test("a cluster without a usable name is named by its position", () => {
    const [line] = refusal({ clusters: [lke({ name: "" })] });
    assert.ok(line.startsWith(`${F}, cluster "#0", field clusters[0].name: given "";`), line);
    const [line2] = refusal({ clusters: [lke({ name: 42 })] });
    assert.ok(line2.startsWith(`${F}, cluster "#0", field clusters[0].name: given 42;`), line2);
    const [line3] = refusal({ clusters: [lke(), lke({ name: undefined })] });
    assert.ok(line3.startsWith(`${F}, cluster "#1", field clusters[1].name: given nothing;`), line3);
});

test("a cluster name that is not a resource name is refused with the naming rule", () => {
    assert.deepEqual(refusal({ clusters: [lke({ name: "Apps" })] }), [
        `${F}, cluster "Apps", field clusters[0].name: given "Apps"; allowed: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 24 characters. It is used in resource names and cloud labels.`,
    ]);
});

test("entries that are not maps are refused, not read as clusters", () => {
    const lines = refusal({ clusters: [null, lke()] }, { secretKeys: [] });
    assert.ok(lines.length >= 1);
    assert.ok(lines[0].startsWith(`${F}, cluster "#0", field clusters[0]: given null;`), lines[0]);
    assert.ok(!lines.some((l) => l.includes("a name no other cluster")), lines.join("\n"));
    const two = refusal({ clusters: [{ provider: "lke" }, { provider: "lke" }] });
    assert.ok(!two.some((l) => l.includes("a name no other cluster")), two.join("\n"));
});

test("a provider block that is not a map names no secret", () => {
    for (const block of ["oops", [], null]) {
        const lines = refusal({ clusters: [kubeadm({}, { kubeadm: block })] }, { secretKeys: [] });
        assert.ok(!lines.some((l) => l.includes("k8s-upgrades:")), `${JSON.stringify(block)}: ${lines.join("\n")}`);
        assert.ok(
            lines.every((l) => l.startsWith(`${F}, cluster "metal", field clusters[0].kubeadm`)),
            lines.join("\n"),
        );
        const capiLines = refusal(
            { clusters: [capi(), { ...capi(), "capi-aws": block, name: "b" }], managementKubeconfig: "x" },
            { secretKeys: ["managementKubeconfig"] },
        );
        assert.ok(!capiLines.some((l) => l.includes("k8s-upgrades:")), capiLines.join("\n"));
    }
});

// ---------------------------------------------------------------------------------------------------------------
// The given value of a rule that names one value inside a list.

test("a cluster in two waves is named in the second wave's refusal, not the whole wave", () => {
    const clusters = [lke(), lke({ name: "b" })];
    assert.deepEqual(refusal({ clusters, rollout: { waves: [{ clusters: ["apps", "b"] }, { clusters: ["apps"] }] } }), [
        `${F}, field rollout.waves[1]: given "apps"; allowed: each cluster in exactly one wave. Cluster apps is in wave 1 already; remove it from one of the two (names and labels both select).`,
    ]);
    // A rule naming a list shows what the user wrote there.
    assert.deepEqual(refusal({ clusters, rollout: { waves: [{ clusters: ["apps"] }] } }), [
        `${F}, field rollout.waves: given [{"clusters":["apps"]}]; allowed: every cluster of the stack in one wave. Add b to a wave by name or label (a last wave, if they should go after the rest).`,
    ]);
    assert.deepEqual(refusal({ clusters, rollout: { waves: [{ clusters: ["apps", "b", "ghost"] }] } }), [
        `${F}, field rollout.waves[0].clusters[2]: given "ghost"; allowed: the name of a cluster of this stack: apps, b. Fix the name, or add the cluster to clusters.`,
    ]);
});

test("a rule over a whole cluster shows nothing it was not given", () => {
    const lines = refusal({ clusters: [lke({ nodePools: [] })] });
    assert.ok(lines.length >= 1);
    assert.ok(!lines.some((l) => l.includes("given nothing")), lines.join("\n"));
});

// ---------------------------------------------------------------------------------------------------------------
// The secrets a cluster names.

const CAPI_SECRET_MISSING = `${F}, field k8s-upgrades:managementKubeconfig: given nothing; allowed: a secret value a cluster names. Set it: pulumi config set --secret managementKubeconfig < FILE.`;

test("a Cluster API cluster needs its management cluster's kubeconfig, by default or by the name it gives", () => {
    assert.deepEqual(refusal({ clusters: [capi()] }, { secretKeys: [] }), [CAPI_SECRET_MISSING]);
    assert.deepEqual(refusal({ clusters: [capi({ managementKubeconfigSecret: "mgmtConf" })] }, { secretKeys: [] }), [
        `${F}, field k8s-upgrades:mgmtConf: given nothing; allowed: a secret value a cluster names. Set it: pulumi config set --secret mgmtConf < FILE.`,
    ]);
    const ok = parseStackConfig(
        "dev",
        { clusters: [capi({ managementKubeconfigSecret: "mgmtConf" })], mgmtConf: "x" },
        { secretKeys: ["mgmtConf"] },
    );
    assert.equal(ok.clusters.length, 1);
    // The named key is one of ours: set, it is not an unknown key.
    assert.equal(
        parseStackConfig(
            "dev",
            { clusters: [capi()], managementKubeconfig: "x" },
            { secretKeys: ["managementKubeconfig"] },
        ).clusters.length,
        1,
    );
});

test("a kubeadm cluster's SSH key is read under the name its ssh block gives", () => {
    const cluster = kubeadm({ ssh: { user: "ops", privateKeySecret: "nodeSsh" } });
    assert.deepEqual(refusal({ clusters: [cluster], kubeconfig: "x" }, { secretKeys: ["kubeconfig"] }), [
        `${F}, field k8s-upgrades:nodeSsh: given nothing; allowed: a secret value a cluster names. Set it: pulumi config set --secret nodeSsh < FILE.`,
    ]);
    const ok = parseStackConfig(
        "dev",
        { clusters: [cluster], kubeconfig: "x", nodeSsh: "y" },
        { secretKeys: ["kubeconfig", "nodeSsh"] },
    );
    assert.equal(ok.clusters.length, 1);
});

test("a secret set in plain text is never shown, even under a key that does not sound secret", () => {
    const cluster = kubeadm({ kubeconfigSecret: "adminConf" });
    assert.deepEqual(
        refusal({ clusters: [cluster], sshPrivateKey: "k", adminConf: "hunter2" }, { secretKeys: ["sshPrivateKey"] }),
        [
            `${F}, field k8s-upgrades:adminConf: given <redacted>; allowed: a value Pulumi keeps secret. It is stored in plain text in Pulumi.dev.yaml: set it again with pulumi config set --secret adminConf < FILE, and rotate it if the file was ever committed.`,
        ],
    );
});

// ---------------------------------------------------------------------------------------------------------------
// Keys in a misspelt namespace.

test("keys of other namespaces are left alone; a namespace up to 3 edits from ours is refused", () => {
    const ok = parseStackConfig(
        "dev",
        { clusters: [lke()] },
        {
            // Ours among them is no misspelling, nor is a bare word however close.
            otherConfig: {
                "linode:token": "t",
                "aws:region": "us-east-1",
                "k8s-up:x": 1,
                "k8s-upgrades:clusters": [],
                "k8s-upgrade": 1,
            },
        },
    );
    assert.equal(ok.clusters.length, 1);
    assert.deepEqual(refusal({ clusters: [lke()] }, { otherConfig: { "k8s-upgra:rollout": "x" } }), [
        `${F}, field k8s-upgra:rollout: given "x"; allowed: keys in the namespace k8s-upgrades. Did you mean "k8s-upgrades:rollout"? Keys in another namespace are ignored.`,
    ]);
});

test("a key in a misspelt namespace is suggested as the same key in ours, or as the stack key it resembles", () => {
    assert.deepEqual(refusal({ clusters: [lke()] }, { otherConfig: { "K8s-Upgrade:sshPrivateKey": "v" } }), [
        `${F}, field K8s-Upgrade:sshPrivateKey: given <redacted>; allowed: keys in the namespace k8s-upgrades. Did you mean "k8s-upgrades:sshPrivateKey"? Keys in another namespace are ignored.`,
    ]);
    assert.deepEqual(refusal({ clusters: [lke()] }, { otherConfig: { "k8s-upgrade:clustrs": [] } }), [
        `${F}, field k8s-upgrade:clustrs: given []; allowed: keys in the namespace k8s-upgrades. Did you mean "k8s-upgrades:clusters"? Keys in another namespace are ignored.`,
    ]);
});

test("a secret value in a misspelt namespace is not shown; a plain one is", () => {
    assert.deepEqual(
        refusal(
            { clusters: [lke()] },
            { otherConfig: { "k8s-upgrade:promotesFrom": "hunter22" }, secretValues: ["hunter22"] },
        ),
        [
            `${F}, field k8s-upgrade:promotesFrom: given <redacted>; allowed: keys in the namespace k8s-upgrades. Did you mean "k8s-upgrades:promotesFrom"? Keys in another namespace are ignored.`,
        ],
    );
    assert.deepEqual(
        refusal({ clusters: [lke()] }, { otherConfig: { "k8s-upgrade:promotesFrom": "staging" }, secretValues: ["x"] }),
        [
            `${F}, field k8s-upgrade:promotesFrom: given "staging"; allowed: keys in the namespace k8s-upgrades. Did you mean "k8s-upgrades:promotesFrom"? Keys in another namespace are ignored.`,
        ],
    );
});

// ---------------------------------------------------------------------------------------------------------------
// What the parsed config carries.

test("an empty promotesFrom is no promotion; firstDeployment and rollout are carried when set", () => {
    const none = parseStackConfig("dev", { clusters: [lke()], promotesFrom: "" });
    assert.equal(none.promotesFrom, undefined);
    const first = parseStackConfig("dev", { clusters: [lke()], firstDeployment: true });
    assert.equal(first.firstDeployment, true);
    assert.equal("firstDeployment" in parseStackConfig("dev", { clusters: [lke()], firstDeployment: false }), false);
    const waves = parseStackConfig("dev", { clusters: [lke()], rollout: { waves: [{ clusters: ["apps"] }] } });
    assert.ok(waves.rollout, "the rollout is carried");
    assert.equal("rollout" in parseStackConfig("dev", { clusters: [lke()] }), false);
});

// ---------------------------------------------------------------------------------------------------------------
// Redaction and scrubbing.

test("secret keys: tokens, passwords (passwd too), private keys, anything ending in key; not a key pair's name", () => {
    for (const k of ["apiToken", "passwd", "password", "privateKeyPath", "sshKey", "kubeconfig", "clientSecret"])
        assert.equal(isSensitiveKey(k), true, k);
    for (const k of ["sshKeyName", "key", "keyName", "region", "count"]) assert.equal(isSensitiveKey(k), false, k);
});

test("a long run looks secret only with letters, digits and at least 3 bits of entropy per character", () => {
    assert.equal(looksSecret("abcd1234".repeat(4)), true); // exactly 3 bits
    assert.equal(looksSecret("ab12".repeat(10)), false); // 2 bits
    assert.equal(looksSecret("0123456789".repeat(4)), false); // digits only: an id, not a token
    assert.equal(looksSecret("abcdefghijklmnopqrstuvwxyzABCDEFGH"), false); // letters only
    assert.equal(looksSecret("no run here at all"), false);
});

test("redaction replaces values under secret keys, but keeps an unset one unset", () => {
    assert.deepEqual(redactValue({ apiToken: "plain", region: "us-ord" }), { apiToken: REDACTED, region: "us-ord" });
    assert.deepEqual(redactValue({ token: undefined, password: null }), { token: undefined, password: null });
    assert.deepEqual(redactValue(["plain", { sshKey: "k" }]), ["plain", { sshKey: REDACTED }]);
});

test("scrubbing replaces each secret of 4 characters or more, as written and as JSON escapes it", () => {
    assert.equal(scrub("token abcd and abc", ["abcd", "abc"]), "token <redacted> and abc");
    assert.equal(scrub('given "x ab\\"cd y"', ['ab"cd']), 'given "x <redacted> y"');
    assert.equal(scrub("line1\nline2 and line1\\nline2", ["line1\nline2"]), "<redacted> and <redacted>");
    assert.equal(scrub("nothing secret", []), "nothing secret");
    assert.equal(
        formatIssue({ stack: "dev", field: "k8s-upgrades:promotesFrom", given: "s3cr3t-value", allowed: "x" }, [
            "s3cr3t-value",
        ]),
        `${F}, field k8s-upgrades:promotesFrom: given "<redacted>"; allowed: x.`,
    );
});

// ---------------------------------------------------------------------------------------------------------------
// Hosts.

test("a host is a hostname of at most 253 characters, an IPv4 or an IPv6 address, and nothing else", () => {
    const label = (c: string, n: number) => c.repeat(n);
    const h253 = `${label("a", 63)}.${label("b", 63)}.${label("c", 63)}.${label("d", 61)}`;
    assert.equal(h253.length, 253);
    assert.equal(isHost(h253), true);
    assert.equal(isHost(`${h253}d`), false);
    for (const ok of ["10.0.0.11", "::1", "fe80::1", "cp-1.example.com", "node1", "10gbe-switch"])
        assert.equal(isHost(ok), true, ok);
    for (const bad of ["1:2:3", "fe80::1::2", "999.1.1.1", "10.0.0", "-oProxyCommand", "ops@host", "host:22", "a b"])
        assert.equal(isHost(bad), false, bad);
});

test("a rule on a transformed value shows what the user wrote, not the normalised form", () => {
    const aks = {
        name: "data",
        provider: "aks",
        kubernetesVersion: "v1.34.2",
        aks: { location: "westeurope", resourceGroupName: "rg-data" },
        nodePools: [{ name: "general", count: 3, type: "Standard_D4s_v5" }],
        workers: { strategy: "in-place" },
    };
    assert.deepEqual(refusal({ clusters: [aks] }), [
        `${F}, cluster "data", field clusters[0].kubernetesVersion: given "v1.34.2"; allowed: a minor such as "1.34". AKS installs the newest patch of a minor when the cluster or a pool moves to it; this program moves minors only.`,
    ]);
});

test("a Google Cloud label refused by key or by value names the label rule", () => {
    const gke = (resourceLabels: Record<string, string>) => ({
        name: "shop",
        provider: "gke",
        kubernetesVersion: "1.36",
        gke: { project: "shop-prod-4711", location: "europe-west4", nodeLocations: ["europe-west4-a"], resourceLabels },
        nodePools: [{ name: "web", count: 6, type: "e2-standard-4" }],
        workers: { strategy: "blue-green" },
    });
    const rule = "lower-case letters, digits, '_' and '-' (keys start with a letter), at most 63";
    assert.equal(parseStackConfig("dev", { clusters: [gke({ team: "platform" })] }).clusters.length, 1);
    assert.deepEqual(refusal({ clusters: [gke({ Team: "platform" })] }), [
        `${F}, cluster "shop", field clusters[0].gke.resourceLabels.Team: given "Team"; allowed: ${rule}.`,
    ]);
    assert.deepEqual(refusal({ clusters: [gke({ team: "Platform" })] }), [
        `${F}, cluster "shop", field clusters[0].gke.resourceLabels.team: given "Platform"; allowed: ${rule}.`,
    ]);
});
