// grpc-js hands Node's TLS the dialled host as the server name, an IP address included, and
// Node then warns once per process (DEP0123: SNI carries no IP address). The server's
// certificate is still checked against that address, so the warning only adds noise to kvd's
// log and tsctl's output: it alone is dropped.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
  if (code === 'DEP0123') return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;
