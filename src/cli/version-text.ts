// `tsrun version` as `docker version` prints it: labels padded to a column
// of at least 20 (Docker's tabwriter), one alignment per block of lines.
import type { VersionInfo } from '../system/version.js';

function block(rows: [string, string][]): string[] {
  const width = Math.max(20, ...rows.map(([k]) => k.length + 1));
  return rows.map(([k, v]) => `${k.padEnd(width)}${v}`);
}

/** Go's time.ANSIC: "Mon Jan  2 15:04:05 2006". */
function ansic(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  // Names from tables: toLocaleString would load ICU's data.
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  return `${day} ${mon} ${String(d.getDate()).padStart(2)} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
}

export function versionText(v: VersionInfo): string {
  const c = v.Client;
  const lines = [
    `Client: ${c.Platform.Name}`,
    ...block([
      [' Version:', c.Version], [' API version:', c.ApiVersion], [' Node version:', c.GoVersion], [' Git commit:', c.GitCommit],
      [' Built:', ansic(c.BuildTime)], [' OS/Arch:', `${c.Os}/${c.Arch}`], [' Context:', c.Context],
    ]),
    '',
    `Server: ${v.Server.Platform.Name}`,
  ];
  for (const comp of v.Server.Components) {
    lines.push(` ${comp.Name}:`);
    const d = comp.Details;
    lines.push(...block(comp.Name === 'Engine'
      ? [
          ['  Version:', comp.Version], ['  API version:', `${d.ApiVersion} (minimum version ${d.MinAPIVersion})`], ['  Node version:', d.GoVersion],
          ['  Git commit:', d.GitCommit], ['  Built:', ansic(d.BuildTime)], ['  OS/Arch:', `${d.Os}/${d.Arch}`], ['  Experimental:', d.Experimental],
        ]
      : [['  Version:', comp.Version], ...Object.keys(d).sort().map((k): [string, string] => [`  ${k}:`, d[k]])]));
  }
  return `${lines.join('\n')}\n`;
}
