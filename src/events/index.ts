// The events journal (`tsrun events`, and the Engine API's /events later):
// journal.ts appends and rotates, emit.ts builds Docker's messages,
// filters.ts matches `--filter`, follow.ts reads the journal as a stream.
export type { EventMessage, EventActor, EventType, EventContainer } from './types.js';
export { appendEvent, readJournal, journalPaths, JOURNAL_MAX_BYTES, MAX_LINE_BYTES, type AppendOptions } from './journal.js';
export { eventMessage, containerEvent, imageEvent, networkEvent, volumeEvent, healthStatusEvent } from './emit.js';
export { parseEventFilters, parseEventFilterJson, parseEventTime, parseEventTimes, EVENT_FILTER_KEYS, type EventFilter } from './filters.js';
export { followEvents, JournalTail, type FollowOptions } from './follow.js';
