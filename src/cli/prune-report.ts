// The prune verbs' output, Docker's: a "Deleted X:" section per kind that
// lost something, then "Total reclaimed space: 1.2MB".
import { decimalSize } from './format.js';

export function pruneSection(title: string, lines: string[]): string {
  return lines.length ? `${title}:\n${lines.map((l) => `${l}\n`).join('')}\n` : '';
}

export function reclaimedLine(bytes: number): string {
  return `Total reclaimed space: ${decimalSize(bytes)}\n`;
}
