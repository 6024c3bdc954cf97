// The baseline of the start-up figure: plain node starting a grpc-js server with nothing on it,
// printing a line when it listens (as `mlsched serve` does). Plain JavaScript on purpose: it is
// what a server costs to start when nothing is compiled at run time.
import { Server, ServerCredentials } from '@grpc/grpc-js';

const server = new Server();
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ scheduler: port })}\n`);
});
