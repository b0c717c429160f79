/** Test helper: a real net-snmp v2c agent on a loopback address serving UCD-SNMP-MIB laLoad.1 (1.3.6.1.4.1.2021.10.1.3.1) as an OctetString. */

import dgram from 'node:dgram';
import snmp from 'net-snmp';

export const LA_LOAD_1 = '1.3.6.1.4.1.2021.10.1.3.1';

// @types/net-snmp types the agent as `any`: the part used here.
interface SnmpAgentApi {
  getAuthorizer(): { addCommunity(c: string): void };
  getMib(): {
    registerProvider(p: unknown): void;
    addTableRow(table: string, row: unknown[]): void;
    setTableSingleCell(table: string, column: number, index: unknown[], value: unknown): void;
  };
  close(cb: () => void): void;
}

export interface SnmpAgent {
  readonly host: string;
  readonly port: number;
  /** The laLoad.1 value served from now on, e.g. "0.42". */
  setLoad(v: string): void;
  close(): Promise<void>;
}

/**
 * net-snmp turns port 0 into 161, so the agent's dgram module is wrapped to bind where we say:
 * `port` 0 gets an ephemeral port (read back once listening); several agents on different
 * 127.x addresses can then share one port, as servers of one pool share `load.port`.
 */
export async function startSnmpAgent(host: string, port: number, load: string): Promise<SnmpAgent> {
  let socket: dgram.Socket | undefined;
  const dgramModule = {
    createSocket(type: dgram.SocketType) {
      const s = dgram.createSocket(type);
      const bind = s.bind.bind(s) as (port: number, address: string) => dgram.Socket;
      (s as unknown as { bind: (p: number, a: string) => dgram.Socket }).bind = () => bind(port, host);
      socket = s;
      return s;
    },
  };
  const agent = snmp.createAgent({ port: 1161, address: host, dgramModule }, () => {}) as SnmpAgentApi;
  agent.getAuthorizer().addCommunity('public');
  const mib = agent.getMib();
  mib.registerProvider({
    name: 'laTable', type: snmp.MibProviderType.Table, oid: '1.3.6.1.4.1.2021.10.1',   // net-snmp: a table provider sits at the entry OID
    maxAccess: snmp.MaxAccess['not-accessible'],
    tableColumns: [
      { number: 1, name: 'laIndex', type: snmp.ObjectType.Integer, maxAccess: snmp.MaxAccess['read-only'] },
      { number: 3, name: 'laLoad', type: snmp.ObjectType.OctetString, maxAccess: snmp.MaxAccess['read-only'] },
    ],
    tableIndex: [{ columnName: 'laIndex' }],
  });
  mib.addTableRow('laTable', [1, load]);
  await new Promise<void>((resolve, reject) => {
    socket!.once('listening', resolve);
    socket!.once('error', reject);
  });
  return {
    host,
    port: socket!.address().port,
    setLoad(v) { mib.setTableSingleCell('laTable', 3, [1], v); },
    close: () => new Promise<void>((r) => agent.close(() => r())),
  };
}
