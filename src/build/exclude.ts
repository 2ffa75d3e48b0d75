// COPY --exclude: .dockerignore's pattern language, relative to each source.
import { IgnoreMatcher, parseDockerignore } from './context/dockerignore.js';

export function excludeMatcher(patterns: string[]): (rel: string, isDir: boolean) => boolean {
  if (patterns.length === 0) return () => false;
  const m = new IgnoreMatcher(parseDockerignore(patterns.join('\n')));
  return (rel, isDir) => m.ignores(rel, isDir);
}
