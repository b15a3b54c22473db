import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, track } from './processes.js';

export interface McpSession {
  client: Client;
  /** the server's pid */
  pid: number;
  /** what the server wrote on stderr so far */
  stderr(): string;
  /** anything on the server's stdout that is not a protocol message */
  transportErrors: string[];
}

/**
 * `proctriage mcp` over stdio with the MCP SDK's own client, spawning the built CLI. Stopped with
 * the rest by cleanup() even when a test fails: close (stdin, then SIGTERM), SIGKILL as a last resort.
 */
export async function startMcpSession(): Promise<McpSession> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'proctriage-test', version: '1.0.0' });
  const transportErrors: string[] = [];
  client.onerror = (err) => {
    transportErrors.push(err.message);
  };
  await client.connect(transport);
  const pid = transport.pid!;
  track({
    stop: () => client.close(),
    killNow: () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  });
  return { client, pid, stderr: () => stderr, transportErrors };
}
