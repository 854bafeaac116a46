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
