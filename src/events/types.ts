// The events journal's record: Docker's events.Message (moby
// api/types/events), field for field, so `--format json` and a later
// Engine API `/events` endpoint hand out the same documents Docker does.

export type EventType = 'container' | 'image' | 'network' | 'volume';

/** Who the event is about: a container or image id, a network id, a volume name; Attributes as Docker sets them. */
export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface EventMessage {
  /** Deprecated (Docker still sends them for container and image events): the action, the actor's id, and for containers its image. */
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  /** `create`, `die`, `exec_start: sh -c ...`, `health_status: healthy`, ... */
  Action: string;
  Actor: EventActor;
  scope: 'local';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (millisecond precision: a whole number of ms × 10^6 stays exact in a double and in JSON). */
  timeNano: number;
}

/** The container fields a container event's attributes come from. */
export interface EventContainer {
  id: string;
  name: string;
  /** What the user named (an image reference, or a --rootfs directory). */
  image?: string;
  labels?: Record<string, string>;
}
