import type { AgentGateway, AgentOp, DataflowGateway, DataflowOp } from '../../src/actors/index.js';

/** An agent gateway that records ops per replica; tests connect and disconnect replicas by hand. */
export class RecordingAgents implements AgentGateway {
  readonly connected = new Set<string>();
  readonly ops: { server: string; idx: number; op: AgentOp }[] = [];
  failSends = false;

  connect(server: string, idx: number): void {
    this.connected.add(`${server}/${idx}`);
  }
  disconnect(server: string, idx: number): void {
    this.connected.delete(`${server}/${idx}`);
  }
  isConnected(server: string, idx: number): boolean {
    return this.connected.has(`${server}/${idx}`);
  }
  send(server: string, idx: number, op: AgentOp): string | undefined {
    if (this.failSends) return 'stream closed';
    if (!this.isConnected(server, idx)) return `no open stream to agent ${server}/${idx}`;
    this.ops.push({ server, idx, op });
    return undefined;
  }
  /** Removes and returns the ops recorded so far, as compact strings `load m:v@s/i`. */
  take(): string[] {
    const out = this.ops.map(
      (o) => `${o.op.operation} ${o.op.definition.meta.name}:${o.op.version}@${o.server}/${o.idx}`,
    );
    this.ops.length = 0;
    return out;
  }
}

/** A dataflow gateway that records ops per engine. */
export class RecordingEngines implements DataflowGateway {
  readonly ops: { engine: string; op: DataflowOp }[] = [];
  failSends = false;

  send(engine: string, op: DataflowOp): string | undefined {
    if (this.failSends) return 'stream closed';
    this.ops.push({ engine, op });
    return undefined;
  }
  /** Removes and returns the ops recorded so far, as compact strings `create p:v@engine`. */
  take(): string[] {
    const out = this.ops.map(
      (o) => `${o.op.op} ${o.op.definition.name}:${o.op.version}@${o.engine}`,
    );
    this.ops.length = 0;
    return out;
  }
}
