#!/usr/bin/env -S node --
// The runc-compatible runtime CLI engines drive (podman --runtime,
// containerd's BinaryName). Its verbs arrive with the lifecycle issue; for
// now it states what it is.
const usage = `Usage: tsrun-oci [global options] <command> [args]

tsrun-oci implements the OCI runtime command line (as runc does) on the
tsrun engine. Commands (create, start, state, kill, delete, run, exec, ps,
list, pause, resume, features) are not implemented yet.
`;

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write('tsrun-oci version 0.1.0\nspec: 1.2.0\n');
} else {
  process.stdout.write(usage);
  process.exitCode = args.length === 0 || args.includes('--help') || args.includes('-h') ? 0 : 1;
}
