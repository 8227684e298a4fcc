/**
 * The admin API under test: a fake director, the app over it, and a
 * request helper that returns the status, headers and decoded body.
 *
 * @module
 */

import type { Hono } from "hono";
import { createApp } from "../../src/api/app.ts";
import type { MetricsRenderer } from "../../src/api/route.ts";
import { authed, FakeBackend, TOKEN } from "./fake_backend.ts";

/** A response, its body decoded (JSON when the content type says so). */
export interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Decodes a response. */
export async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  const json = /json/.test(res.headers.get("content-type") ?? "") && text !== "";
  return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text, text };
}

export interface Harness {
  backend: FakeBackend;
  app: Hono;
  /** Failures the app logged (a 500 each). */
  logged: unknown[];
  /** An authorised request; `body` is sent as JSON. */
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** A request exactly as given (no token added). */
  raw(path: string, init?: RequestInit): Promise<Reply>;
}

/** A fresh fake director and app. */
export function harness(opts: { renderMetrics?: MetricsRenderer; backend?: FakeBackend } = {}): Harness {
  const backend = opts.backend ?? new FakeBackend();
  const logged: unknown[] = [];
  const app = createApp(backend, {
    token: TOKEN,
    renderMetrics: opts.renderMetrics,
    log: (_message, error) => logged.push(error),
  });
  return {
    backend,
    app,
    logged,
    req: async (method, path, body, headers) => reply(await app.request(path, authed(method, body, headers))),
    raw: async (path, init) => reply(await app.request(path, init)),
  };
}

/** A minimal metrics renderer that shows what it was given. */
export const testRenderer: MetricsRenderer = ({ status, services, dataplane }) =>
  `# TYPE lvsd_services gauge\nlvsd_services ${services.length}\nlvsd_generation ${status.generation}\n` +
  `lvsd_rx_frames ${dataplane.counters.rx_frames ?? 0}\n`;
