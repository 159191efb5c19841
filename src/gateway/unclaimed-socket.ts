// A client socket that no HTTP server listens to yet (while its first bytes are read): an
// error on it (a client resetting the connection) would be an unhandled 'error' event, which
// ends the process. Until it is claimed, an error just closes it.
import type net from 'node:net';

/** Closes `socket` on error until the returned function is called (by whoever takes it over). */
export function closeOnErrorUntilClaimed(socket: net.Socket): () => void {
  const onError = () => socket.destroy();
  socket.on('error', onError);
  return () => socket.off('error', onError);
}
