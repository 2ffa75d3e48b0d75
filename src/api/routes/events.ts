// GET /events: the root's journal as Docker streams it, one JSON event a
// line, through core's followEvents (what `tsrun events` prints). The
// headers go out at once (clients wait for them); without `until` the
// stream follows until the client goes away, which stops the follow and
// closes its files and watcher.
import { followEvents } from '../../events/follow.js';
import { parseEventFilterJson, parseEventTimes } from '../../events/filters.js';
import type { EventMessage } from '../../events/types.js';
import type { ApiContext } from '../context.js';
import { startStream, type Request, type Response } from '../http.js';
import { route, type Route } from '../router.js';

async function events(ctx: ApiContext, req: Request, { res }: Response): Promise<void> {
  // Everything asked is checked before the stream starts, so a bad value is a 400.
  const filter = parseEventFilterJson(req.query.get('filters') ?? '');
  const { since, until } = parseEventTimes(req.query.get('since') || undefined, req.query.get('until') || undefined);
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  startStream(res, 'application/json');
  const onEvent = (ev: EventMessage) => {
    if (!gone.signal.aborted) res.write(`${JSON.stringify(ev)}\n`);
  };
  try {
    await followEvents(ctx.tsrun.root, onEvent, { since, until, filter, signal: gone.signal });
  } finally {
    res.end();
  }
}

export const eventRoutes: Route[] = [route('GET', '/events', events)];
