// The header every generated script starts with ("# k8s-upgrades: drain …") is the contract between the program,
// which writes it (components/scripts.ts), and the policy pack, which reads it to recognise drain guards and
// control plane steps in any program's commands.

/** The kind a generated script was built as, read from its header line; undefined for any other text. */
export function scriptKindOf(text: unknown): string | undefined {
    return typeof text === "string" ? /# k8s-upgrades: ([a-z-]+)/.exec(text)?.[1] : undefined;
}
