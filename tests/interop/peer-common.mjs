// Shared by the peer scripts: find the peers installed by setup.sh, and
// announce the port. The peers live in $TOKENDANCE_INTEROP_DIR/node_modules
// (set by tests/interop.rs), not next to these scripts, so that the source
// tree stays free of node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.TOKENDANCE_INTEROP_DIR;
if (!dir) {
  console.error('TOKENDANCE_INTEROP_DIR is not set (run through tests/interop.rs or tests/interop/setup.sh)');
  process.exit(2);
}
const requireFromInstall = createRequire(path.join(path.resolve(dir), 'package.json'));

/** Imports an installed package (CommonJS or ESM) by name. */
export async function load(name) {
  let resolved;
  try {
    resolved = requireFromInstall.resolve(name);
  } catch (e) {
    console.error(`peer package ${name} is not installed under ${dir}: run tests/interop/setup.sh (${e.message})`);
    process.exit(2);
  }
  return import(pathToFileURL(resolved).href);
}

/** The port argument: a number, or 0 for any free port. */
export function portArgument() {
  const port = Number(process.argv[2] ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`bad port argument ${process.argv[2]}`);
    process.exit(2);
  }
  return port;
}

/** Prints the bound port as the first line of stdout (the test waits for it). */
export function announce(server) {
  const address = server.address();
  process.stdout.write(`${address.port}\n`);
}

// Die with the parent: the test closes our stdin when it goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
