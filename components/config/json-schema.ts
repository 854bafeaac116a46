// The JSON Schema of Pulumi.<stack>.yaml, from the same schema the program validates with. Editors with the YAML
// language server complete and check stack files with it; `npm run schema` writes schema/stack-config.schema.json.
import { z } from "zod";
import { CONFIG_NAMESPACE, STACK_KEYS } from "./parse";
import * as r from "./rules";
import { PROVIDERS, stackInput } from "./schema";

type Json = Record<string, unknown>;

const POOL_TYPE_PATTERNS: Record<string, RegExp> = {
    lke: r.LINODE_TYPE,
    eks: r.EC2_TYPE,
    "capi-aws": r.EC2_TYPE,
    gke: r.GCE_TYPE,
    aks: r.AZURE_VM_SIZE,
};

/** What JSON Schema can say of the rules that span a cluster's fields: its provider's block, and its pools' types. */
function providerRules(): Json[] {
    return PROVIDERS.map((provider) => {
        const others = Object.fromEntries(PROVIDERS.filter((p) => p !== provider).map((p) => [p, false]));
        const pattern = POOL_TYPE_PATTERNS[provider];
        return {
            if: { type: "object", properties: { provider: { const: provider } }, required: ["provider"] },
            // biome-ignore lint/suspicious/noThenProperty: JSON Schema's keyword
            then: {
                type: "object",
                required: [provider],
                properties: {
                    // The block itself is described once, with the cluster's other fields; named here so that
                    // `required` lists a property this schema defines (ajv's strictRequired).
                    [provider]: { type: "object" },
                    ...others,
                    ...(pattern
                        ? {
                              nodePools: {
                                  type: "array",
                                  items: {
                                      type: "object",
                                      properties: { type: { type: "string", pattern: pattern.source } },
                                  },
                              },
                          }
                        : {}),
                },
            },
        };
    });
}

export function stackFileJsonSchema(): Json {
    const stack = z.toJSONSchema(stackInput, { io: "input", target: "draft-2020-12" }) as Json & {
        properties: Record<string, Json & { items?: Json }>;
    };
    const clusters = stack.properties.clusters;
    if (clusters.items) clusters.items.allOf = providerRules();
    const secure = {
        type: "object",
        description: "A secret, set with `pulumi config set --secret`.",
        properties: { secure: { type: "string" } },
        required: ["secure"],
        additionalProperties: false,
    };
    const config: Json = {
        type: "object",
        description: `Stack settings. This program reads the ${CONFIG_NAMESPACE} namespace; other namespaces belong to the providers.`,
        properties: Object.fromEntries(STACK_KEYS.map((k) => [`${CONFIG_NAMESPACE}:${k}`, stack.properties[k]])),
        patternProperties: {
            // Any other key of ours is a secret a cluster names (an SSH key, a kubeconfig).
            [`^${CONFIG_NAMESPACE}:(?!(${STACK_KEYS.join("|")})$)`]: secure,
        },
        // A misspelt namespace (k8s-upgrade:clusters) would be ignored by Pulumi without a word.
        propertyNames: {
            type: "string",
            not: { pattern: `^(?!${CONFIG_NAMESPACE}:)[kK]8[sS][-_ ]?[uU][pP][gG][rR][aA][dD][eE][sS]?:` },
        },
    };
    return {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        title: "k8s-upgrades stack settings (Pulumi.<stack>.yaml)",
        type: "object",
        properties: {
            config,
            secretsprovider: { type: "string" },
            encryptedkey: { type: "string" },
            encryptionsalt: { type: "string" },
            environment: { description: "Pulumi ESC environments imported by this stack." },
        },
        additionalProperties: false,
    };
}
