// Runs inside Orthanc's network namespace: accepts connections on a Unix socket (a file, which
// both namespaces see) and forwards each to a TCP port on that namespace's loopback.
import net from 'node:net';

const [socketPath, port] = process.argv.slice(2);
net
  .createServer((client) => {
    const upstream = net.connect(Number(port), '127.0.0.1');
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  })
  .listen(socketPath);
