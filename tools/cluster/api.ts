// A minimal client of the test cluster's API over HTTPS with a bearer token: what the cluster tool and the tests
// need to create and read objects without going through kubectl (whose behaviour the tests are about).
import * as fs from "node:fs";
import * as https from "node:https";

export interface ApiResponse {
    status: number;
    body: unknown;
    text: string;
}

export class KubeApi {
    private readonly ca: Buffer;
    constructor(
        readonly server: string,
        caFile: string,
        private readonly token: string,
        private readonly timeoutMs = 15_000,
    ) {
        this.ca = fs.readFileSync(caFile);
    }

    get caBytes(): Buffer {
        return this.ca;
    }

    get bearer(): string {
        return this.token;
    }

    request(method: string, urlPath: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse> {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const req = https.request(
                `${this.server}${urlPath}`,
                {
                    method,
                    ca: this.ca,
                    timeout: this.timeoutMs,
                    headers: {
                        Authorization: `Bearer ${this.token}`,
                        Accept: "application/json",
                        ...(payload ? { "Content-Type": contentType } : {}),
                    },
                },
                (res) => {
                    let text = "";
                    res.setEncoding("utf8");
                    res.on("data", (d) => {
                        text += d;
                    });
                    res.on("end", () => {
                        let parsed: unknown = text;
                        try {
                            parsed = JSON.parse(text);
                        } catch {}
                        resolve({ status: res.statusCode ?? 0, body: parsed, text });
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${this.timeoutMs}ms`)));
            req.on("error", reject);
            if (payload) req.write(payload);
            req.end();
        });
    }

    /** Like request, but a status outside 2xx is an error naming the call and the answer. */
    async must(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<unknown> {
        const res = await this.request(method, urlPath, body, contentType);
        if (res.status < 200 || res.status >= 300) {
            throw new Error(`${method} ${urlPath}: ${res.status} ${res.text.slice(0, 500)}`);
        }
        return res.body;
    }

    create(urlPath: string, obj: unknown): Promise<unknown> {
        return this.must("POST", urlPath, obj);
    }

    get<T = Record<string, unknown>>(urlPath: string): Promise<T> {
        return this.must("GET", urlPath) as Promise<T>;
    }

    patch(urlPath: string, patch: unknown): Promise<unknown> {
        return this.must("PATCH", urlPath, patch, "application/merge-patch+json");
    }

    /** Server-side apply of one object (creates or updates it), as field manager k8su-test. */
    apply(urlPath: string, obj: unknown): Promise<unknown> {
        return this.must("PATCH", `${urlPath}?fieldManager=k8su-test&force=true`, obj, "application/apply-patch+yaml");
    }
}

export interface WatchEvent {
    type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
    object: Record<string, unknown>;
}

/**
 * A watch on a collection (`GET …?watch=1`): `onEvent` gets every event in order until `stop()`. Resolves once the
 * apiserver has answered the request, so that no change made after it is missed. `onEnd` is called if the stream
 * ends or breaks before `stop()` (the apiserver closed it, or went away): what it would have seen next is unknown.
 */
export function watch(
    api: KubeApi,
    collectionPath: string,
    onEvent: (e: WatchEvent) => void,
    onEnd?: (why: string) => void,
): Promise<{ stop(): void }> {
    return new Promise((resolve, reject) => {
        const sep = collectionPath.includes("?") ? "&" : "?";
        const req = https.request(
            `${api.server}${collectionPath}${sep}watch=1&allowWatchBookmarks=false`,
            {
                method: "GET",
                ca: api.caBytes,
                headers: { Authorization: `Bearer ${api.bearer}`, Accept: "application/json" },
            },
            (res) => {
                if (res.statusCode !== 200) {
                    reject(new Error(`watch ${collectionPath}: ${res.statusCode}`));
                    res.resume();
                    return;
                }
                let buf = "";
                res.setEncoding("utf8");
                res.on("data", (d: string) => {
                    buf += d;
                    let nl = buf.indexOf("\n");
                    while (nl >= 0) {
                        const line = buf.slice(0, nl).trim();
                        buf = buf.slice(nl + 1);
                        if (line) onEvent(JSON.parse(line) as WatchEvent);
                        nl = buf.indexOf("\n");
                    }
                });
                let stopped = false;
                res.on("error", () => {});
                res.on("close", () => {
                    if (!stopped) onEnd?.(`the watch of ${collectionPath} ended`);
                });
                resolve({
                    stop: () => {
                        stopped = true;
                        req.destroy();
                    },
                });
            },
        );
        req.on("error", (err) => reject(err));
        req.end();
    });
}
