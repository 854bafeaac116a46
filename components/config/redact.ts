// No message ever shows a value that is, or could be, secret: what Pulumi marks secret, what sits under a key
// that names a token, key, password, secret or kubeconfig, a PEM block, or a long random string.

export const REDACTED = "<redacted>";

/** Keys whose values are secret whatever they hold. A taint's plain `key` is its Kubernetes key, not a secret. */
const SENSITIVE_KEY =
    /token|passw(or)?d|passphrase|secret|kubeconfig|credential|private_?key|certificate|[a-z0-9_-]key$/i;

export function isSensitiveKey(key: string): boolean {
    return SENSITIVE_KEY.test(key);
}

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;
const LONG_RUN = /[A-Za-z0-9+/=_-]{32,}/g;

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
    const counts = new Map<string, number>();
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    let h = 0;
    for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
    return h;
}

/** A PEM block, or a run of 32+ token characters mixing letters and digits with high entropy (API tokens, keys). */
export function looksSecret(s: string): boolean {
    if (PEM.test(s)) return true;
    for (const run of s.match(LONG_RUN) ?? []) {
        if (/[0-9]/.test(run) && /[A-Za-z]/.test(run) && entropy(run) >= 3) return true;
    }
    return false;
}

/** A copy of a value fit for a message: secret leaves replaced, sensitive keys' values replaced. */
export function redactValue(value: unknown, key?: string): unknown {
    if (key !== undefined && isSensitiveKey(key) && value !== undefined && value !== null) return REDACTED;
    if (typeof value === "string") return looksSecret(value) ? REDACTED : value;
    if (Array.isArray(value)) return value.map((v) => redactValue(v));
    if (value && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k);
        return out;
    }
    return value;
}

/** Replaces every known secret value (as written, and as JSON would escape it) in a finished message. */
export function scrub(text: string, secretValues: readonly string[]): string {
    let out = text;
    for (const secret of secretValues) {
        if (secret.length < 4) continue;
        for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) out = out.split(form).join(REDACTED);
    }
    return out;
}
