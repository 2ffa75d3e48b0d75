// The route table: METHOD + path pattern → handler. `{id}` matches one path
// segment, `{name*}` any number (image names hold slashes:
// /images/localhost:5000/team/app:1/json), as Docker's `{name:.*}`.
import type { ApiContext } from './context.js';
import type { Request, Response } from './http.js';

export type Handler = (ctx: ApiContext, req: Request, res: Response) => Promise<void> | void;

export interface Route {
  method: string;
  pattern: string;
  handler: Handler;
  /** Takes over the connection (attach, exec start): served on `Upgrade: tcp` requests too. */
  hijack?: boolean;
}

export function route(method: string, pattern: string, handler: Handler, opts: { hijack?: boolean } = {}): Route {
  return { method, pattern, handler, ...opts };
}

interface Compiled extends Route {
  re: RegExp;
  names: string[];
}

export class Router {
  private readonly routes: Compiled[];

  constructor(routes: Route[]) {
    this.routes = routes.map((r) => {
      const names: string[] = [];
      const src = r.pattern.replace(/[.+?^$()[\]\\|]/g, '\\$&').replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => {
        names.push(name);
        return star ? '(.+)' : '([^/]+)';
      });
      return { ...r, re: new RegExp(`^${src}/?$`), names };
    });
  }

  /** The route and its params; `methods` lists what the path allows when only the method is wrong. */
  match(method: string, path: string): { route: Compiled; params: Record<string, string> } | { methods: string[] } | null {
    const methods: string[] = [];
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      // HEAD is answered by GET's handler where no HEAD route is declared (the socket drops the body).
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET' && !this.has('HEAD', path))) {
        methods.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      return { route: r, params };
    }
    return methods.length ? { methods } : null;
  }

  private has(method: string, path: string): boolean {
    return this.routes.some((r) => r.method === method && r.re.test(path));
  }
}
