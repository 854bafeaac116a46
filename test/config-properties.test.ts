// Properties of the validators over generated input: names, numbers, labels, versions and secrets, and the JSON
// Schema agreeing with the program on every generated value.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import Ajv2020 from "ajv/dist/2020";
import * as fc from "fast-check";
import { ConfigError, parseStackConfig, suggest } from "../components/config";
import { SCHEMA_FILE } from "../tools/schema";

const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(
    JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")),
);

function cluster(pool: Record<string, unknown> = {}, over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "apps",
        provider: "lke",
        kubernetesVersion: "1.36",
        lke: { region: "us-ord" },
        nodePools: [{ name: "web", count: 3, type: "g6-standard-4", ...pool }],
        workers: { strategy: "blue-green" },
        ...over,
    };
}

/** The program's verdict, and its message when it refuses. */
function run(raw: Record<string, unknown>): { ok: boolean; message: string } {
    try {
        parseStackConfig("dev", structuredClone(raw));
        return { ok: true, message: "" };
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { ok: false, message: err.message };
    }
}

function schemaAccepts(raw: Record<string, unknown>): boolean {
    return validate({ config: Object.fromEntries(Object.entries(raw).map(([k, v]) => [`k8s-upgrades:${k}`, v])) });
}

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const anyString = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.constantFrom("a\nb", " x", "x ", "a b", "-x", "x-", "A"),
);

test("suggestions ignore case: any casing of an allowed word suggests that word", () => {
    const words = ["lke", "eks", "kubeadm", "capi-aws", "blue-green", "in-place", "recycle", "NoSchedule", "apt"];
    fc.assert(
        fc.property(
            fc.constantFrom(...words),
            fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
            (word, upper) => {
                const cased = [...word].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch.toLowerCase())).join("");
                assert.equal(suggest(cased, words), word);
            },
        ),
    );
});

test("a node count is accepted exactly when it is a whole number from 1 to 1000, and the JSON Schema agrees", () => {
    fc.assert(
        fc.property(
            fc.oneof(fc.integer({ min: -10, max: 2000 }), fc.double(), fc.constantFrom(1e21, 2 ** 53, 0.5)),
            (count) => {
                const raw = { clusters: [cluster({ count })] };
                const expected = Number.isInteger(count) && count >= 1 && count <= 1000;
                assert.equal(run(raw).ok, expected, String(count));
                assert.equal(schemaAccepts(raw), expected, String(count));
            },
        ),
    );
});

test("a node name is accepted only as a DNS-1123 name, never with whitespace, and the JSON Schema agrees", () => {
    fc.assert(
        fc.property(fc.oneof(dnsLabel, anyString), (name) => {
            const raw = {
                clusters: [
                    {
                        name: "metal",
                        provider: "kubeadm",
                        kubernetesVersion: "1.36.2",
                        kubeadm: {
                            controlPlaneNodes: [{ name, host: "10.0.0.11" }],
                            ssh: { user: "ops" },
                            packageManager: "apt",
                        },
                        nodePools: [{ name: "workers", count: 1, type: "bare-metal" }],
                        workers: { strategy: "in-place" },
                    },
                ],
            };
            (raw.clusters[0].kubeadm as { workerNodes?: unknown }).workerNodes = [
                { name: "worker-1", host: "10.0.0.21" },
            ];
            const { ok } = run(raw);
            assert.equal(
                ok,
                /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) && !/\.\.|\.-|-\./.test(name) && name.length <= 253,
                JSON.stringify(name),
            );
            assert.equal(schemaAccepts(raw), ok, JSON.stringify(name));
        }),
    );
});

test("label values: at most 63 characters of Kubernetes' alphabet, and the JSON Schema agrees", () => {
    fc.assert(
        fc.property(
            fc.oneof(fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,70}[A-Za-z0-9])?$/), anyString),
            (value) => {
                const raw = { clusters: [cluster({ labels: { "app.kubernetes.io/tier": value } })] };
                const expected = value.length <= 63 && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value);
                assert.equal(run(raw).ok, expected, JSON.stringify(value));
                assert.equal(schemaAccepts(raw), expected, JSON.stringify(value));
            },
        ),
    );
});

test("a version YAML read as a number is refused with the quoted form the user wrote", () => {
    fc.assert(
        fc.property(fc.integer({ min: 10, max: 99 }), (minor) => {
            const n = Number(`1.${minor}`);
            const { ok, message } = run({ clusters: [cluster({}, { kubernetesVersion: n })] });
            assert.equal(ok, false);
            assert.ok(message.includes(`quote it: "1.${minor}".`), message);
        }),
    );
});

test("no message contains a secret, wherever it is pasted", () => {
    const secret = fc.oneof(
        fc.stringMatching(/^[a-f0-9]{40,64}$/),
        fc
            .stringMatching(/^[A-Za-z0-9+/]{40,60}$/)
            .filter((s) => /[0-9]/.test(s) && /[A-Za-z]/.test(s) && new Set(s).size > 12),
        fc.constant("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"),
    );
    const key = fc.constantFrom(
        "linodeToken",
        "token",
        "apiKey",
        "password",
        "sshPrivateKey",
        "kubeconfig",
        "notes",
        "Secret",
    );
    const place = fc.constantFrom("stack", "cluster", "pool", "label", "lke", "drain");
    fc.assert(
        fc.property(secret, key, place, (value, name, where) => {
            const raw: Record<string, unknown> = { clusters: [cluster()] };
            const c = (raw.clusters as Record<string, unknown>[])[0];
            const p = (c.nodePools as Record<string, unknown>[])[0];
            if (where === "stack") raw[name] = value;
            else if (where === "cluster") c[name] = value;
            else if (where === "pool") p[name] = value;
            else if (where === "label") p.labels = { [name.toLowerCase()]: value };
            else if (where === "lke") c.lke = { region: "us-ord", [name]: { nested: value } };
            else c.workers = { strategy: "blue-green", drain: { [name]: value } };
            c.kubernetesVersion = "1.3x"; // a second problem, so that every run is refused with a message
            const { ok, message } = run(raw);
            assert.equal(ok, false);
            assert.ok(!message.includes(value) && !message.includes(value.split("\n")[1] ?? value), message);
        }),
    );
});
