// tsrun's own annotations on an OCI spec, read by the runtime as well as
// written by buildSpec (apart from build.ts: the runtime's core must not
// load spec building).

/** Annotation telling the runtime to run a minimal init as pid 1 (--init). */
export const INIT_ANNOTATION = 'org.tsrun.init';
