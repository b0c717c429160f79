import { loadConfigText } from './src/config/load.js';
import { ConfigError } from './src/config/types.js';
try { console.log(JSON.stringify(loadConfigText('', 'x.yaml', {}), null, 1)); } catch (e) { console.log(String(e)); }
const bad = `listeners:
  - host: 1.2.3.4
  - port: 99999
    foo: 1
timeouts:
  idle: 30
  fin: 3x
pools:
  chat:
    algorithm: robin
    servers:
      - { name: a, url: ws://h:1 }
      - { name: a, url: http://h }
  empty: {}
  d:
    discover: { dns: x, port: 1 }
    algorithm: { name: hash, key: "qq" }
routes:
  - pool: nope
    match: { host: "Foo.COM", path: x }
    origins: [ "https://A.com:443/" ]
  - pool: chat
    name: route-0
    affinity: foo
workers: auto
admin:
  token: \${TOK}
  port: \${P:-90}
`;
try { loadConfigText(bad, 'x.yaml', {}); } catch (e) { console.log(String((e as Error).message)); }
