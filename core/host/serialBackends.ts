/**
 * Where a serial port's bytes go besides the app's console, per the port's
 * mode: 'file' appends raw output to a file; 'tcp' is a TCP server on
 * 127.0.0.1 with one client at a time and bytes both ways. Each backend is
 * opened when the VM starts and closed when it stops.
 *
 * Output to a slow file or client is dropped (counted) beyond a bounded
 * queue rather than buffered without limit.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

export const MAX_QUEUED_BYTES = 1024 * 1024;

export interface SerialBackend {
  readonly description: string;
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
  /** Bytes dropped because the consumer was too slow. */
  readonly dropped: number;
}

export class FileSerialBackend implements SerialBackend {
  readonly description: string;
  dropped = 0;
  private constructor(private readonly stream: WriteStream, path: string) {
    this.description = `file ${path}`;
  }

  static open(path: string): Promise<FileSerialBackend> {
    return new Promise((resolve, reject) => {
      const stream = createWriteStream(path, { flags: 'a' });
      stream.once('open', () => {
        stream.removeAllListeners('error');
        // Later write errors (disk full) stop the output, not the host.
        stream.on('error', () => {});
        resolve(new FileSerialBackend(stream, path));
      });
      stream.once('error', (e) => reject(new Error(`cannot open serial output file ${path}: ${e.message}`)));
    });
  }

  write(bytes: Uint8Array): void {
    if (this.stream.destroyed || this.stream.writableLength > MAX_QUEUED_BYTES) {
      this.dropped += bytes.length;
      return;
    }
    this.stream.write(bytes);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.destroyed) return resolve();
      this.stream.end(() => resolve());
    });
  }
}

export class TcpSerialBackend implements SerialBackend {
  readonly description: string;
  dropped = 0;
  private client: Socket | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {
    this.description = `tcp 127.0.0.1:${port}`;
  }

  /** Listens on 127.0.0.1:`port`; bytes from the client go to `onInput`. */
  static open(port: number, onInput: (bytes: Uint8Array) => void): Promise<TcpSerialBackend> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      let backend: TcpSerialBackend | undefined;
      server.on('connection', (socket) => {
        if (!backend || backend.client) {
          socket.destroy(); // one client at a time
          return;
        }
        backend.attach(socket, onInput);
      });
      server.once('error', (e) => reject(new Error(`cannot listen on 127.0.0.1:${port} for the serial port: ${e.message}`)));
      server.listen(port, '127.0.0.1', () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        const address = server.address();
        backend = new TcpSerialBackend(server, typeof address === 'object' && address ? address.port : port);
        resolve(backend);
      });
    });
  }

  private attach(socket: Socket, onInput: (bytes: Uint8Array) => void): void {
    this.client = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => onInput(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice()));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (this.client === socket) this.client = undefined;
    });
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  write(bytes: Uint8Array): void {
    const c = this.client;
    if (!c) return; // nobody listening: a real serial line drops the bytes too
    if (c.writableLength > MAX_QUEUED_BYTES) {
      this.dropped += bytes.length;
      return;
    }
    c.write(bytes);
  }

  close(): Promise<void> {
    this.client?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
